#!/usr/bin/env bash
# Trains and evaluates a list of experiment runs at once on one GPU (a 135M–270M model leaves most
# of an H200 idle; twelve runs at once fit in its memory). Each run: data build, train, export the
# adapter as an f16 GGUF LoRA, evaluate on our engine; its folder keeps run.txt (the commands and
# wall times), train.txt, train_log.jsonl, adapter.gguf and eval-own-<backend>/.
#
# Usage: bash bench/experiment-batch.sh start RUNS WORK    start every run of RUNS in the background
#        bash bench/experiment-batch.sh evaluate WORK      then evaluate the trained runs one after another,
#                                                          in one background job (with EVAL=0 at start)
#        bash bench/experiment-batch.sh wait WORK SECONDS  wait until every run is done (trained, and
#                                                          evaluated when asked) or SECONDS pass; print each one's state
# RUNS: one run a line, `name|samples|seed|epochs|data flags|train flags`; `#` starts a comment.
# Environment: MODEL (the base GGUF, required), AGENTTUNE (how to run the CLI; default
# `node <this checkout>/bin/agenttune.js`; kept for `evaluate`), LR (the peak learning rate;
# default 1e-3), TASKS (default data/eval/tasks.jsonl), EVAL=0 to leave the evaluation out of each
# run (for `evaluate`, or to evaluate adapter.gguf elsewhere: evaluations run at once share the GPU
# by turns, so one after another with more tasks at once each goes further),
# CONCURRENCY (tasks at once per evaluation; default 8),
# LIMIT (evaluate the first N tasks only), BACKEND (cuda, the default, or cpu for a trial run).
# Runs are started with setsid, so they outlive the shell that started them.
set -uo pipefail
USAGE="usage: experiment-batch.sh start RUNS WORK | evaluate WORK | wait WORK SECONDS"
verb=${1:?$USAGE}
# each run works in its own folder, so the CLI and the tasks are named by absolute paths
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
AGENTTUNE=${AGENTTUNE:-node $root/bin/agenttune.js}
export AGENTTUNE

run_one() { # name samples seed epochs "data flags" "train flags" (in the run's folder)
  local name=$1 samples=$2 seed=$3 epochs=$4 dflags=$5 tflags=$6 t0
  local cli=$AGENTTUNE backend=${BACKEND:-cuda} lr=${LR:-1e-3} limit=()
  [[ -n "${LIMIT:-}" ]] && limit=(--limit "$LIMIT")
  {
    # the engine's switches (AGENTTUNE_LORA_FOLD, …) change what a run computes: keep them with it
    env | grep '^AGENTTUNE_' | sort | sed 's/^/environment: /'
    echo "agenttune data build --samples $samples --seed $seed $dflags --out train.jsonl"
    echo "agenttune train --model $(basename "$MODEL") --data train.jsonl --output-dir ft --backend $backend --save-every 0 --seed $seed --lr $lr --epochs $epochs --batch-size 4 --grad-accum 1 $tflags"
  } > run.txt
  # shellcheck disable=SC2086 # the flag lists are meant to split
  $cli data build --samples "$samples" --seed "$seed" $dflags --out train.jsonl >> run.txt 2>&1 || { echo "FAILED: data build" >> run.txt; touch DONE; return; }
  t0=$(date +%s)
  # shellcheck disable=SC2086
  $cli train --model "$MODEL" --data train.jsonl --output-dir ft --backend "$backend" --save-every 0 --seed "$seed" --lr "$lr" \
    --epochs "$epochs" --batch-size 4 --grad-accum 1 $tflags > train.txt 2>&1 || { echo "FAILED: train" >> run.txt; touch DONE; return; }
  echo "wall time of the train call: $(( $(date +%s) - t0 )) s ($(date -u +%FT%TZ) end)" >> run.txt
  cp ft/train_log.jsonl . 2>/dev/null
  echo "agenttune export --adapter ft/adapter --format gguf-lora --dtype f16 --base $(basename "$MODEL") --out adapter.gguf" >> run.txt
  $cli export --adapter ft/adapter --format gguf-lora --dtype f16 --base "$MODEL" --out adapter.gguf >> run.txt 2>&1 || echo "FAILED: export" >> run.txt
  [[ "${EVAL:-1}" != 0 ]] && eval_one
  touch DONE
}

eval_one() { # (in the run's folder, after its training)
  local cli=$AGENTTUNE backend=${BACKEND:-cuda} limit=() t0
  [[ -n "${LIMIT:-}" ]] && limit=(--limit "$LIMIT")
  [[ -d ft/adapter ]] || { echo "FAILED: eval (no adapter)" >> run.txt; return; }
  t0=$(date +%s)
  echo "agenttune eval --engine own --device $backend --model $(basename "$MODEL") --adapter ft/adapter --tasks $(basename "$TASKS") --out eval-own-$backend --concurrency ${CONCURRENCY:-8} ${limit[*]}" >> run.txt
  $cli eval --engine own --device "$backend" --model "$MODEL" --adapter ft/adapter --tasks "$TASKS" --out "eval-own-$backend" --concurrency "${CONCURRENCY:-8}" "${limit[@]}" > eval.txt 2>&1 || echo "FAILED: eval" >> run.txt
  echo "wall time of the eval call: $(( $(date +%s) - t0 )) s ($(date -u +%FT%TZ) end)" >> run.txt
  touch EVALUATED
}

case "$verb" in
  start)
    runs=${2:?$USAGE}
    work=${3:?$USAGE}
    : "${MODEL:?set MODEL to the base model GGUF file}"
    [[ -f "$runs" ]] || { echo "experiment-batch.sh: no runs file $runs" >&2; exit 1; }
    TASKS=${TASKS:-$root/data/eval/tasks.jsonl}
    [[ -f "$MODEL" && -f "$TASKS" ]] || { echo "experiment-batch.sh: no file $([[ -f "$MODEL" ]] && echo "$TASKS" || echo "$MODEL")" >&2; exit 1; }
    MODEL=$(realpath "$MODEL"); TASKS=$(realpath "$TASKS")
    export MODEL TASKS
    mkdir -p "$work"
    while IFS='|' read -r name samples seed epochs dflags tflags; do
      [[ -z "$name" || "$name" == \#* ]] && continue
      [[ "$name" =~ ^[A-Za-z0-9._-]+$ ]] || { echo "experiment-batch.sh: bad run name '$name'" >&2; exit 1; }
      mkdir -p "$work/$name"
      (cd "$work/$name" && setsid bash -c "$(declare -f run_one eval_one); run_one \"\$@\"" run_one "$name" "$samples" "$seed" "$epochs" "$dflags" "$tflags" \
        > log.txt 2>&1 < /dev/null &)
      echo "started $name"
    done < "$runs"
    # what `evaluate` needs later, kept beside the runs
    printf 'MODEL=%q\nTASKS=%q\nAGENTTUNE=%q\n' "$MODEL" "$TASKS" "$AGENTTUNE" > "$work/batch.env"
    ;;
  evaluate)
    work=${2:?$USAGE}
    [[ -f "$work/batch.env" ]] || { echo "experiment-batch.sh: $work holds no batch (no batch.env)" >&2; exit 1; }
    # shellcheck disable=SC1091
    source "$work/batch.env"
    export MODEL TASKS AGENTTUNE
    (setsid bash -c "$(declare -f eval_one); for d in \"\$@\"; do [[ -f \$d/DONE && ! -f \$d/EVALUATED ]] && (cd \$d && eval_one); done" evaluate "$work"/*/ > "$work/evaluate.log" 2>&1 < /dev/null &)
    echo "evaluating $(find "$work" -mindepth 1 -maxdepth 1 -type d | wc -l) runs one after another (log: $work/evaluate.log)"
    ;;
  wait)
    work=${2:?$USAGE}
    limit=${3:?$USAGE}
    t0=$(date +%s)
    while (( $(date +%s) - t0 < limit )); do
      total=$(find "$work" -mindepth 1 -maxdepth 1 -type d | wc -l)
      done_=$(find "$work" -mindepth 2 -maxdepth 2 -name DONE | wc -l)
      evaluating=0; [[ -f "$work/evaluate.log" ]] && evaluating=1
      evaluated=$(find "$work" -mindepth 2 -maxdepth 2 -name EVALUATED | wc -l)
      (( done_ >= total && (evaluating == 0 || evaluated >= total) )) && break
      sleep 15
    done
    for d in "$work"/*/; do
      state=running; [[ -f "$d/DONE" ]] && state=trained; [[ -f "$d/EVALUATED" ]] && state="trained, evaluated"
      grep -q FAILED "$d/run.txt" 2>/dev/null && state="$state, $(grep FAILED "$d/run.txt" | tr '\n' ' ')"
      echo "$(basename "$d"): $state · $(tr '\r' '\n' < "$d/train.txt" 2>/dev/null | grep -v '^$' | tail -1 | cut -c1-90)"
    done
    ;;
  *) echo "$USAGE" >&2; exit 2 ;;
esac
