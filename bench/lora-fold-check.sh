#!/usr/bin/env bash
# The LoRA B side folded into the base products (LoraOptions.foldLoraB): the CUDA tests that guard
# the kernels it touches and the step against the CPU, then the 0.5B, 3B and 7B steps at both
# shapes with --fold-lora off, forward and both, in turns (ROUNDS of them, default 2); one profiled
# 7B step at 1 × 2048 a mode.
# Usage (GPU machine, the device build in BUILD, default .devbuild):
#   bash bench/lora-fold-check.sh OUT_DIR
# Steps go to OUT_DIR/steps.jsonl, the tests' output to OUT_DIR/tests.out, every command to
# OUT_DIR/commands.txt with its exit status and seconds.
set -uo pipefail
out=${1:?usage: lora-fold-check.sh OUT_DIR}
build=${BUILD:-.devbuild}
RUN_LIMIT_S=200
# shellcheck source=bench/logged-run.sh
source "$(dirname "${BASH_SOURCE[0]}")/logged-run.sh"
start_out

tests=(test/engine/cuda/ops.test.js test/engine/cuda/nf4.test.js test/engine/cuda/train-step.test.js test/engine/cuda/weight-grad-stream.test.js test/engine/cuda/train-model.test.js)
(cd "$build" && run tests node --test "${tests[@]}")
for cfg in 0.5b 3b 7b; do
  for shape in "4 1024" "1 2048"; do
    read -r n t <<< "$shape"
    for round in $(seq "${ROUNDS:-2}"); do
      for fold in off forward both; do
        name="$cfg-${n}x$t-$fold-$round"
        run "$name" node "$build/bench/cuda-train.js" --config "bench/configs/qwen2.5-$cfg.json" --batch "$n" --tokens "$t" \
          --steps 7 --recompute selective --fold-lora $fold && cat "$out/$name.out" >> "$out/steps.jsonl"
      done
    done
  done
done
for fold in off forward both; do
  run "7b-1x2048-$fold-profile" node "$build/bench/cuda-train.js" --config bench/configs/qwen2.5-7b.json --batch 1 --tokens 2048 \
    --steps 4 --recompute selective --profile --fold-lora $fold && cat "$out/7b-1x2048-$fold-profile.out" >> "$out/profiles.jsonl"
done
cat "$out/commands.txt"
