#!/usr/bin/env bash
# A GPU machine's whole check in one go: the new Hopper kernels' tests first (a hang there must
# not cost the rest), the benchmarks on an idle GPU (the 7B step either NF4 route, the fused NF4
# products, attention, decoding) and their Nsight Compute profiles, then the rest of the CUDA
# tests. Every command goes to OUT_DIR/commands.txt with its exit status and seconds; each one's
# output to OUT_DIR/<name>.out and .err, the tests' to OUT_DIR/tests-*.txt.
# Usage (GPU machine, after `npm run build:device`; BUILD=.devexp for another build folder):
#   bash bench/gpu-check.sh OUT_DIR [GGUF]      GGUF: a SmolLM2 model for the real-model decode benchmark
# LIMIT_S bounds each command (default 120 s); PROFILE=0 leaves out the profiles.
set -uo pipefail
out=${1:?usage: gpu-check.sh OUT_DIR [GGUF]}
gguf=${2:-}
build=${BUILD:-.devbuild}
RUN_LIMIT_S=120
# shellcheck source=bench/logged-run.sh
source "$(dirname "${BASH_SOURCE[0]}")/logged-run.sh"
start_out
tests() { # name test files... (run in the build folder, where the tests' fixtures are)
  local name=$1 rc
  shift
  (cd "$build" && run "$name" node --test "$@")
  rc=$?
  mv "$out/$name.out" "$out/$name.txt"
  return $rc
}

tests tests-hopper test/engine/cuda/wgmma.test.js test/engine/cuda/nf4.test.js
hopper=$?
[[ $hopper == 0 ]] || echo "the wgmma/NF4 tests failed (rc $hopper): the fused NF4 route is left out" >> "$out/commands.txt"

b=$build/bench
for shape in "4 1024" "1 2048"; do
  read -r n t <<< "$shape"
  for rc in off selective; do
    run "7b-${n}x$t-$rc" node "$b/cuda-train.js" --config bench/configs/qwen2.5-7b.json --batch "$n" --tokens "$t" --steps 5 --recompute $rc
  done
  [[ $hopper == 0 ]] && run "7b-${n}x$t-selective-fused" env AGENTTUNE_NF4_MATMUL=fused node "$b/cuda-train.js" \
    --config bench/configs/qwen2.5-7b.json --batch "$n" --tokens "$t" --steps 5 --recompute selective
done
run 7b-4x1024-selective-profile node "$b/cuda-train.js" --config bench/configs/qwen2.5-7b.json --batch 4 --tokens 1024 --steps 4 --recompute selective --profile
[[ $hopper == 0 ]] && run nf4-gemm node "$b/cuda-nf4-gemm.js"
run attention node "$b/cuda-attention.js"
run decode-gpu node "$b/decode-gpu.js" --backend cuda
[[ -n "$gguf" ]] && run decode-batch node "$b/decode-batch.js" "$gguf" 1,4,8 cuda
if [[ "${PROFILE:-1}" != 0 ]]; then
  [[ $hopper == 0 ]] && run ncu-nf4-gemm bash bench/profile-kernel.sh nf4_gemm_bf16 3 -- node "$b/cuda-nf4-gemm.js" --reps 1
  run ncu-flash-dkdv bash bench/profile-kernel.sh flash_backward_dkdv_d128 3 -- node "$b/cuda-attention.js"
  run ncu-flash-forward bash bench/profile-kernel.sh flash_forward_d128 3 -- node "$b/cuda-attention.js"
fi

rest=$(cd "$build" && ls test/engine/cuda/*.test.js | grep -v -e /wgmma.test -e /nf4.test)
# shellcheck disable=SC2086 # one argument a test file
LIMIT_S=${LIMIT_S:-300} tests tests-rest test/engine/cuda.test.js $rest
grep -h -E "^# (tests|pass|fail|skipped)" "$out"/tests-*.txt
cat "$out/commands.txt"
