#!/usr/bin/env bash
# Trains and evaluates a list of experiment runs at once on one GPU (a 135M–270M model leaves most
# of an H200 idle; twelve runs at once fit in its memory). Each run: data build, train, export the
# adapter as an f16 GGUF LoRA, evaluate on our engine; its folder keeps run.txt (the commands and
# wall times), train.txt, train_log.jsonl, adapter.gguf and eval-own-<backend>/.
#
# Usage: bash bench/experiment-batch.sh start RUNS WORK   start every run of RUNS in the background
#        bash bench/experiment-batch.sh wait WORK SECONDS wait until all are done or SECONDS pass; print each run's state
# RUNS: one run a line, `name|samples|seed|epochs|data flags|train flags`; `#` starts a comment.
# Environment: MODEL (the base GGUF, required), AGENTTUNE (how to run the CLI; default
# `node bin/agenttune.js`), TASKS (default data/eval/tasks.jsonl), EVAL=0 to skip the evaluation
# (to evaluate the adapter.gguf elsewhere), CONCURRENCY (tasks at once per evaluation; default 8),
# LIMIT (evaluate the first N tasks only), BACKEND (cuda, the default, or cpu for a trial run).
# Runs are started with setsid, so they outlive the shell that started them.
set -uo pipefail
verb=${1:?usage: experiment-batch.sh start RUNS WORK | wait WORK SECONDS}

run_one() { # name samples seed epochs "data flags" "train flags" (in the run's folder)
  local name=$1 samples=$2 seed=$3 epochs=$4 dflags=$5 tflags=$6 t0
  local cli=${AGENTTUNE:-node bin/agenttune.js} backend=${BACKEND:-cuda} limit=()
  [[ -n "${LIMIT:-}" ]] && limit=(--limit "$LIMIT")
  {
    echo "agenttune data build --samples $samples --seed $seed $dflags --out train.jsonl"
    echo "agenttune train --model $(basename "$MODEL") --data train.jsonl --output-dir ft --backend $backend --save-every 0 --seed $seed --lr 1e-3 --epochs $epochs --batch-size 4 --grad-accum 1 $tflags"
  } > run.txt
  # shellcheck disable=SC2086 # the flag lists are meant to split
  $cli data build --samples "$samples" --seed "$seed" $dflags --out train.jsonl >> run.txt 2>&1 || { echo "FAILED: data build" >> run.txt; touch DONE; return; }
  t0=$(date +%s)
  # shellcheck disable=SC2086
  $cli train --model "$MODEL" --data train.jsonl --output-dir ft --backend "$backend" --save-every 0 --seed "$seed" --lr 1e-3 \
    --epochs "$epochs" --batch-size 4 --grad-accum 1 $tflags > train.txt 2>&1 || { echo "FAILED: train" >> run.txt; touch DONE; return; }
  echo "wall time of the train call: $(( $(date +%s) - t0 )) s ($(date -u +%FT%TZ) end)" >> run.txt
  cp ft/train_log.jsonl . 2>/dev/null
  echo "agenttune export --adapter ft/adapter --format gguf-lora --dtype f16 --base $(basename "$MODEL") --out adapter.gguf" >> run.txt
  $cli export --adapter ft/adapter --format gguf-lora --dtype f16 --base "$MODEL" --out adapter.gguf >> run.txt 2>&1 || echo "FAILED: export" >> run.txt
  if [[ "${EVAL:-1}" != 0 ]]; then
    t0=$(date +%s)
    echo "agenttune eval --engine own --device $backend --model $(basename "$MODEL") --adapter ft/adapter --tasks $(basename "$TASKS") --out eval-own-$backend --concurrency ${CONCURRENCY:-8} ${limit[*]}" >> run.txt
    $cli eval --engine own --device "$backend" --model "$MODEL" --adapter ft/adapter --tasks "$TASKS" --out "eval-own-$backend" --concurrency "${CONCURRENCY:-8}" "${limit[@]}" > eval.txt 2>&1 || echo "FAILED: eval" >> run.txt
    echo "wall time of the eval call: $(( $(date +%s) - t0 )) s ($(date -u +%FT%TZ) end)" >> run.txt
  fi
  touch DONE
}

case "$verb" in
  start)
    runs=${2:?usage: experiment-batch.sh start RUNS WORK}
    work=${3:?usage: experiment-batch.sh start RUNS WORK}
    : "${MODEL:?set MODEL to the base model GGUF file}"
    [[ -f "$runs" ]] || { echo "experiment-batch.sh: no runs file $runs" >&2; exit 1; }
    MODEL=$(realpath "$MODEL"); TASKS=$(realpath "${TASKS:-data/eval/tasks.jsonl}")
    export MODEL TASKS
    mkdir -p "$work"
    while IFS='|' read -r name samples seed epochs dflags tflags; do
      [[ -z "$name" || "$name" == \#* ]] && continue
      [[ "$name" =~ ^[A-Za-z0-9._-]+$ ]] || { echo "experiment-batch.sh: bad run name '$name'" >&2; exit 1; }
      mkdir -p "$work/$name"
      (cd "$work/$name" && setsid bash -c "$(declare -f run_one); run_one \"\$@\"" run_one "$name" "$samples" "$seed" "$epochs" "$dflags" "$tflags" \
        > log.txt 2>&1 < /dev/null &)
      echo "started $name"
    done < "$runs"
    ;;
  wait)
    work=${2:?usage: experiment-batch.sh wait WORK SECONDS}
    limit=${3:?usage: experiment-batch.sh wait WORK SECONDS}
    t0=$(date +%s)
    while (( $(date +%s) - t0 < limit )); do
      total=$(find "$work" -mindepth 1 -maxdepth 1 -type d | wc -l)
      done_=$(find "$work" -mindepth 2 -maxdepth 2 -name DONE | wc -l)
      (( done_ >= total )) && break
      sleep 15
    done
    for d in "$work"/*/; do
      state=running; [[ -f "$d/DONE" ]] && state=done
      grep -q FAILED "$d/run.txt" 2>/dev/null && state="$state, $(grep FAILED "$d/run.txt" | tr '\n' ' ')"
      echo "$(basename "$d"): $state · $(tr '\r' '\n' < "$d/train.txt" 2>/dev/null | grep -v '^$' | tail -1 | cut -c1-90)"
    done
    ;;
  *) echo "usage: experiment-batch.sh start RUNS WORK | wait WORK SECONDS" >&2; exit 2 ;;
esac
