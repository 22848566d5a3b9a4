#!/usr/bin/env bash
# The input embeddings in page-locked host memory (EmbeddingPlacement): the 7B step at both shapes
# with the table on the GPU and on the host, in turns, two rounds; then the CUDA tests.
# Usage (GPU machine, the device build in .devexp): bash bench/embeddings-check.sh OUT_DIR
set -u
o=${1:?usage: embeddings-check.sh OUT_DIR}
mkdir -p "$o"
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; date -u +%FT%TZ; } > "$o/machine.txt"
for round in 1 2; do
  for shape in "4 1024" "1 2048"; do
    read -r n t <<< "$shape"
    for e in device host; do
      echo "## round $round: node .devexp/bench/cuda-train.js --config bench/configs/qwen2.5-7b.json --batch $n --tokens $t --steps 7 --recompute selective --embeddings $e" >> "$o/commands.txt"
      timeout 120 node .devexp/bench/cuda-train.js --config bench/configs/qwen2.5-7b.json --batch "$n" --tokens "$t" --steps 7 --recompute selective --embeddings $e >> "$o/steps.jsonl" 2>> "$o/steps.err"
      echo "rc=$?" >> "$o/commands.txt"
    done
  done
done
(cd .devexp && timeout 400 node --test test/engine/cuda/*.test.js > "$o/tests.txt" 2>&1)
