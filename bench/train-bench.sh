#!/usr/bin/env bash
# One run, one GPU: our QLoRA trainer (NF4 base) beside the PyTorch + PEFT peer (bf16 base) on
# random-initialised Qwen2.5 configurations. Each configuration runs in its own process.
# Usage (GPU machine, after `npm run build:device`): bash bench/train-bench.sh OUT_DIR [sizes] [shapes] [peer modes]
# Peer modes "none" runs ours alone (the peer's figures do not change with our code).
set -uo pipefail
out=${1:?usage: train-bench.sh OUT_DIR}
sizes=${2:-"0.5b 3b 7b"}
shapes=${3:-"4x1024 1x2048"}
modes=${4:-"eager checkpointing"}
mkdir -p "$out"
for size in $sizes; do
  for shape in $shapes; do
    b=${shape%x*}; t=${shape#*x}
    cfg=bench/configs/qwen2.5-$size.json
    for rc in off selective full; do
      node .devbuild/bench/cuda-train.js --config "$cfg" --batch "$b" --tokens "$t" --steps 5 --recompute $rc >> "$out/ours.jsonl" 2>> "$out/errors.log" || echo "ours $size $shape --recompute $rc failed" >> "$out/errors.log"
    done
    for mode in $modes; do
      [ "$mode" = none ] && continue
      python3 bench/peers/peft_train.py --config "$cfg" --batch "$b" --tokens "$t" --steps 5 --mode "$mode" >> "$out/peer.jsonl" 2>> "$out/errors.log" || echo "peer $size $shape $mode failed" >> "$out/errors.log"
    done
  done
done
