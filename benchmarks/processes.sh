#!/usr/bin/env bash
# benchmarks/processes.sh — the latency of making a process (issue 13).
#
#   benchmarks/processes.sh [--no-doc] [ROUNDS]
#
# benchmarks/processes/proc_latency.c, static, measured inside the guest: fork+exit+wait,
# fork+execve+wait, vfork+execve+wait and posix_spawn+wait (the child is /bin/true), natively,
# under qemu-x86_64 (fork only: qemu-user runs an exec'd x86_64 program natively) and under herd
# with the warm spare (1.5 s between rounds, so the spare has booted; a vfork child's execve runs
# in it too) and without it (HERD_FORK_SPARE=off: every fork and vfork exec starts a child Herd);
# then back to back (no pause: a shell loop), where a fork's child that exited serves the next fork
# (reused spares), against HERD_FORK_RECYCLE=off, and a bash loop of 12 /bin/true as a whole run
# next to native and qemu-x86_64. Medians of ROUNDS (default 10) rounds.
# Writes its table into docs/BENCHMARKS.md between the "benchmarks/processes.sh" markers.
set -uo pipefail
ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
CMDLINE="benchmarks/processes.sh${*:+ $*}"
WRITE_DOC=1 ROUNDS=10
for a in "$@"; do
  case $a in
    --no-doc) WRITE_DOC=0 ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) ROUNDS=$a ;;
  esac
done
TMP=$(mktemp -d "${TMPDIR:-/tmp}/herd-proc-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
gcc -O2 -static -o "$TMP/proc_latency" benchmarks/processes/proc_latency.c || exit 1
HERD=$ROOT/bin/herd
QEMU=$(command -v qemu-x86_64-static || true)
median() { sed -n 's/.*median \([0-9.]*\) ms.*/\1/p'; }
whole_run() { # five runs of a command, timed from outside, in proc_latency's format
  local t=() i s e
  for i in 1 2 3 4 5; do
    s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N)
    t+=("$(( (e - s) / 1000 ))")
  done
  printf '%s\n' "${t[@]}" | sort -n | awk '{v[NR]=$1} END {printf "x: median %.1f ms, min %.1f ms, max %.1f ms (5 rounds)\n", v[3]/1000, v[1]/1000, v[5]/1000}'
}
row() { # label, then the command
  local label=$1; shift
  local out
  out=$("$@" 2>"$TMP/err") || { echo "| $label | failed: $(head -n 1 "$TMP/err") |"; return; }
  echo "| $label | $(echo "$out" | median) | $(echo "$out" | sed -n 's/.*min \([0-9.]*\) ms, max \([0-9.]*\) ms.*/\1 – \2/p') |"
}
{
  echo "Command: \`$CMDLINE\` (from the repository root)"
  echo
  echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
  echo "- Machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), Linux $(uname -r)"
  echo "- Load average (1/5/15 min) at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  echo "| what (child: \`/bin/true\` where it execs) | median ms | min – max ms |"
  echo "|---|---:|---:|"
  for m in fork forkexec vfork spawn; do
    row "native: $m" "$TMP/proc_latency" "$m" 50 0
  done
  [ -n "$QEMU" ] && row "qemu-x86_64: fork" "$QEMU" "$TMP/proc_latency" fork 50 0
  for m in fork forkexec vfork spawn; do
    row "herd, warm spare: $m" "$HERD" run "$TMP/proc_latency" "$m" "$ROUNDS" 1500
  done
  for m in fork forkexec vfork spawn; do
    row "herd, no spare (HERD_FORK_SPARE=off): $m" env HERD_FORK_SPARE=off "$HERD" run "$TMP/proc_latency" "$m" "$ROUNDS" 300
  done
  # One execve, for comparison: two whole runs whose difference is the execve (medians of 5).
  for m in fork forkexec spawn; do
    row "herd, back to back (no pause): $m" "$HERD" run "$TMP/proc_latency" "$m" "$ROUNDS" 0
  done
  for m in fork forkexec spawn; do
    row "herd, back to back, no reuse (HERD_FORK_RECYCLE=off): $m" env HERD_FORK_RECYCLE=off "$HERD" run "$TMP/proc_latency" "$m" "$ROUNDS" 0
  done
  LOOP='for i in 1 2 3 4 5 6 7 8 9 10 11 12; do /bin/true; done'
  row "native, whole run: \`bash -c '$LOOP'\`" whole_run /bin/bash -c "$LOOP"
  [ -n "$QEMU" ] && row "qemu-x86_64, whole run: the same loop (bash under qemu, its /bin/true native)" whole_run "$QEMU" /bin/bash -c "$LOOP"
  row "herd, whole run: the same loop" whole_run "$HERD" run /bin/bash -c "$LOOP"
  row "herd, whole run: the same loop, no reuse (HERD_FORK_RECYCLE=off)" whole_run env HERD_FORK_RECYCLE=off "$HERD" run /bin/bash -c "$LOOP"
  row "herd, whole run: \`bin/herd run /bin/true\`" whole_run "$HERD" run /bin/true
  row "herd, whole run: \`bin/herd run /bin/sh -c 'exec /bin/true'\` (one execve more)" whole_run "$HERD" run /bin/sh -c 'exec /bin/true'
  echo
  echo "- Load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$TMP/section.md"
cat "$TMP/section.md"
if [ $WRITE_DOC = 1 ]; then
  . "$ROOT/benchmarks/doc-section.sh"
  write_doc_section benchmarks/processes.sh "Latest results: processes" "$TMP/section.md"
fi
