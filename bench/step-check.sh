#!/usr/bin/env bash
# Did a change move the training step? On a GPU machine: the CUDA tests that guard the step (layer
# kernels, products, the step against the CPU), under cublasGemmEx and under cuBLASLt with tuned
# algorithms (AGENTTUNE_GEMM=lt); every product of a 7B step alone either way
# (bench/cuda-gemm-lt.ts) at 4096 and 2048 tokens; the 7B step at both shapes and both
# recomputation modes either way, one profiled; 0.5B and 3B at 4 × 1024.
# Usage (GPU machine, after `npm run build:device`; BUILD=.devexp for another build folder):
#   bash bench/step-check.sh OUT_DIR
# Every command goes to OUT_DIR/commands.txt with its exit status and seconds.
set -uo pipefail
out=${1:?usage: step-check.sh OUT_DIR}
build=${BUILD:-.devbuild}
RUN_LIMIT_S=180
# shellcheck source=bench/logged-run.sh
source "$(dirname "${BASH_SOURCE[0]}")/logged-run.sh"
start_out

step_tests=(test/engine/cuda/cublas-lt.test.js test/engine/cuda/bindings.test.js test/engine/cuda/ops.test.js test/engine/cuda/train-step.test.js test/engine/cuda/train-model.test.js)
(cd "$build" && run tests-gemmex node --test "${step_tests[@]}")
(cd "$build" && run tests-lt env AGENTTUNE_GEMM=lt node --test "${step_tests[@]}")
for t in 4096 2048; do
  run "gemm-$t" node "$build/bench/cuda-gemm-lt.js" --tokens $t --json "$out/gemm-$t.jsonl"
done
for shape in "4 1024" "1 2048"; do
  read -r n t <<< "$shape"
  for rc in selective off; do
    for route in gemmex lt; do
      run "7b-${n}x$t-$rc-$route" env AGENTTUNE_GEMM=$route node "$build/bench/cuda-train.js" --config bench/configs/qwen2.5-7b.json --batch "$n" --tokens "$t" --steps 7 --recompute $rc
    done
  done
done
run 7b-4x1024-selective-lt-profile env AGENTTUNE_GEMM=lt node "$build/bench/cuda-train.js" --config bench/configs/qwen2.5-7b.json --batch 4 --tokens 1024 --steps 4 --recompute selective --profile
run 7b-4x1024-selective-gemmex-profile node "$build/bench/cuda-train.js" --config bench/configs/qwen2.5-7b.json --batch 4 --tokens 1024 --steps 4 --recompute selective --profile
for cfg in 0.5b 3b; do
  for route in gemmex lt; do
    run "$cfg-4x1024-selective-$route" env AGENTTUNE_GEMM=$route node "$build/bench/cuda-train.js" --config bench/configs/qwen2.5-$cfg.json --batch 4 --tokens 1024 --steps 7 --recompute selective
  done
done
cat "$out/commands.txt"
