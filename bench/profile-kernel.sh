#!/usr/bin/env bash
# One kernel under Nsight Compute: where its warps wait (memory, barriers, issue) and how near the
# chip's limits it runs, as text. Profiles the first SKIP-th launch of each kernel whose name
# matches REGEX (warm-up launches come first) and runs every other launch normally.
# Usage (GPU machine, after `npm run build:device`):
#   bash bench/profile-kernel.sh REGEX [SKIP] -- COMMAND...
#   bash bench/profile-kernel.sh 'nf4_gemm_bf16' 3 -- node .devbuild/bench/cuda-nf4-gemm.js --reps 1
set -euo pipefail
regex=${1:?usage: profile-kernel.sh REGEX [SKIP] -- COMMAND...}
shift
skip=3
if [[ "${1:-}" != "--" ]]; then skip=$1; shift; fi
[[ "${1:-}" == "--" ]] || { echo "profile-kernel.sh: put -- before the command" >&2; exit 2; }
shift
ncu=$(command -v ncu || ls /usr/local/cuda*/bin/ncu /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1 || true)
[[ -n "$ncu" ]] || { echo "profile-kernel.sh: no ncu (Nsight Compute) on PATH, in /usr/local/cuda*/bin or /opt/nvidia/nsight-compute" >&2; exit 1; }
# --clock-control none: the clocks stay as the chip sets them, as in every other measurement here
exec "$ncu" --clock-control none --kernel-name "regex:$regex" --launch-skip "$skip" --launch-count 1 \
  --section SpeedOfLight --section WarpStateStats --section SchedulerStats --section MemoryWorkloadAnalysis \
  --section Occupancy "$@"
