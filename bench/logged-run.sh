# Sourced by the GPU check scripts: `run NAME COMMAND...` runs COMMAND under `timeout ${LIMIT_S}`
# (default $RUN_LIMIT_S, else 120 s), its stdout and stderr to $out/NAME.out and .err, and appends
# the command line, its exit status and its seconds to $out/commands.txt. `$out` must be set.
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
