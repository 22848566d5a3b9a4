# Sourced by the GPU check scripts: `start_out` makes the folder $out, makes $out absolute and
# writes the GPU and the date to $out/machine.txt; `run NAME COMMAND...` runs COMMAND under
# `timeout ${LIMIT_S}` (default $RUN_LIMIT_S, else 120 s), its stdout and stderr to $out/NAME.out
# and .err, and appends the command line, its exit status and its seconds to $out/commands.txt.
start_out() {
  mkdir -p "$out"
  out=$(realpath "$out")
  { nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; date -u +%FT%TZ; } > "$out/machine.txt" 2>&1
}

run() { # name command...
  local name=$1 t0 rc
  shift
  echo "## $name: $*" >> "$out/commands.txt"
  t0=$(date +%s)
  timeout "${LIMIT_S:-${RUN_LIMIT_S:-120}}" "$@" > "$out/$name.out" 2> "$out/$name.err"
  rc=$?
  echo "rc=$rc $(( $(date +%s) - t0 )) s" >> "$out/commands.txt"
  return $rc
}
