#!/usr/bin/env bash
# Several GPUs' check in one go: the NCCL tests (the group sums, two training ranks against one
# GPU's loss curve), then the training bench on one GPU and as 2 (and 4, where there are four)
# data-parallel ranks, 7B at both shapes and 0.5B, each with its scaling over one GPU.
# Usage (a machine with two or more GPUs, the device build in BUILD, default .devbuild):
#   bash bench/dp-check.sh OUT_DIR
# The comparison lines go to OUT_DIR/scaling.jsonl, every command to OUT_DIR/commands.txt with its
# exit status and seconds, each one's output to OUT_DIR/<name>.out and .err.
set -uo pipefail
out=${1:?usage: dp-check.sh OUT_DIR}
build=${BUILD:-.devbuild}
RUN_LIMIT_S=300
# shellcheck source=bench/logged-run.sh
source "$(dirname "${BASH_SOURCE[0]}")/logged-run.sh"
start_out
gpus=$(nvidia-smi --list-gpus | wc -l)
(( gpus >= 2 )) || { echo "dp-check.sh: $gpus GPU(s) here; the data-parallel check needs two or more" >&2; exit 1; }

(cd "$build" && run nccl-tests node --test test/engine/cuda/nccl.test.js test/engine/cuda/train-model.test.js)
worlds=(2); (( gpus >= 4 )) && worlds+=(4)
for world in "${worlds[@]}"; do
  for case in "qwen2.5-7b 4 1024" "qwen2.5-7b 1 2048" "qwen2.5-0.5b 4 1024"; do
    read -r config n t <<< "$case"
    name="dp$world-$config-${n}x$t"
    run "$name" node "$build/bench/cuda-train-dp.js" --gpus "$world" -- --config "bench/configs/$config.json" \
      --batch "$n" --tokens "$t" --steps 7 --recompute selective && tail -1 "$out/$name.out" >> "$out/scaling.jsonl"
  done
done
cat "$out/scaling.jsonl" 2>/dev/null
cat "$out/commands.txt"
