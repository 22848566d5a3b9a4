#!/usr/bin/env bash
# The input embeddings in page-locked host memory (EmbeddingPlacement): the 7B step at both shapes
# with the table on the GPU and on the host, in turns, two rounds; then the CUDA tests.
# Usage (GPU machine, the device build in BUILD, default .devbuild): bash bench/embeddings-check.sh OUT_DIR
# Steps go to OUT_DIR/steps.jsonl, the tests' output to OUT_DIR/tests.out, every command to
# OUT_DIR/commands.txt with its exit status and seconds.
set -uo pipefail
out=${1:?usage: embeddings-check.sh OUT_DIR}
build=${BUILD:-.devbuild}
RUN_LIMIT_S=120
# shellcheck source=bench/logged-run.sh
source "$(dirname "${BASH_SOURCE[0]}")/logged-run.sh"
start_out

for round in 1 2; do
  for shape in "4 1024" "1 2048"; do
    read -r n t <<< "$shape"
    for e in device host; do
      name="7b-${n}x$t-$e-$round"
      run "$name" node "$build/bench/cuda-train.js" --config bench/configs/qwen2.5-7b.json --batch "$n" --tokens "$t" \
        --steps 7 --recompute selective --embeddings $e && cat "$out/$name.out" >> "$out/steps.jsonl"
    done
  done
done
(cd "$build" && LIMIT_S=400 run tests node --test test/engine/cuda/*.test.js)
