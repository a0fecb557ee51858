#!/usr/bin/env bash
# Soak runs (issue 9): long churn workloads under bin/herd run, with the resources of the herd
# process sampled before and after and the run failing when they grew. Not part of scripts/test.sh.
#
#   scripts/soak.sh [--mode parallel|serial|both] [--scale F] [WORKLOAD...]
#
# Workloads (C guests stress-tests/src/main/c/soak_*.c, built by the Maven build):
#   threads   create/join 10,000 threads in batches of 50         (soak_threads)
#   signals   100,000 signals: kill, pthread_kill, raise, handlers (soak_signals)
#   mmap      4 threads x 5,000 mmap/mprotect/munmap rounds        (soak_mmap)
#   fds       20,000 rounds of open/dup/dup2/pipe/socketpair/close (soak_fds)
#   exec      a guest that execve's itself 8 times, counting down  (soak_exec)
# Default: all of them, in both modes. --scale F multiplies the counts (e.g. 0.1 for a smoke run).
#
# Sampling: each guest runs a warm-up round, prints "SOAK READY" and blocks reading stdin; the
# script samples /proc/<herd java pid>, sends a newline, the guest runs the measured rounds,
# prints "SOAK DONE" and blocks again; the script samples again and lets it exit. Sampled: threads
# (/proc/PID/status), open fds (/proc/PID/fd), VmRSS, memfds (fd links to /memfd: and distinct
# /memfd: files in /proc/PID/maps) and descendant processes (with their summed RSS).
# The herd JVM runs with a fixed, pre-touched heap (HERD_JAVA_OPTS="-Xms128m -Xmx128m
# -XX:+AlwaysPreTouch"; HERD_SOAK_JAVA_OPTS overrides): with a default heap the RSS of every
# workload grows 100-270 MiB as the Java heap expands, which hides a real leak; with a fixed heap a
# Java-side leak ends in OutOfMemoryError (a failed run) and RSS growth is native memory.
# Tolerances, after - before: threads <= +8 (the JVM starts JIT compiler and GC threads lazily),
# fds <= +2, memfd fds and memfd files +0, descendant processes +0, RSS <= +32 MiB (JIT code
# cache, metaspace). A workload must also exit 0 within its bound (280 s).
set -uo pipefail
ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
G=$ROOT/stress-tests/target/guests
HERD=$ROOT/bin/herd

modes=(parallel serial) scale=1 workloads=()
while [ $# -gt 0 ]; do
  case $1 in
    --mode) case ${2:-} in both) modes=(parallel serial) ;; parallel|serial) modes=("$2") ;;
              *) echo "soak.sh: --mode parallel|serial|both" >&2; exit 2 ;; esac; shift 2 ;;
    --scale) scale=${2:?--scale needs a factor}; shift 2 ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    threads|signals|mmap|fds|exec) workloads+=("$1"); shift ;;
    *) echo "soak.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ ${#workloads[@]} -gt 0 ] || workloads=(threads signals mmap fds exec)
for w in "${workloads[@]}"; do
  if [ ! -x "$G/soak_$w" ]; then
    echo "soak.sh: $G/soak_$w not built; build first: mvn -DskipTests package (or scripts/test.sh)" >&2
    exit 1
  fi
done

BOUND=280
export HERD_JAVA_OPTS=${HERD_SOAK_JAVA_OPTS:--Xms128m -Xmx128m -XX:+AlwaysPreTouch}
n() { awk -v a="$1" -v s="$scale" 'BEGIN { v = int(a * s); print (v < 1 ? 1 : v) }'; }
args_for() {
  case $1 in
    threads) echo "$(n 1000) $(n 10000) 50" ;;
    signals) echo "$(n 2000) $(n 100000) 4" ;;
    mmap)    echo "$(n 200) $(n 5000) 4" ;;
    fds)     echo "$(n 500) $(n 20000)" ;;
    exec)    echo "$(n 8)" ;;
  esac
}

descendants() {   # all descendant pids of $1
  ps -e -o pid=,ppid= | awk -v root="$1" '
    { parent[$1] = $2 }
    END { for (p in parent) { q = p; while (q in parent && q != root && q > 1) q = parent[q]; if (q == root && p != root) print p } }'
}

# sample PID -> "threads fds rss_kib memfd_fds memfd_files children children_rss_kib"
sample() {
  local pid=$1 threads rss fds mfd mmaps kids krss=0 k r
  threads=$(awk '/^Threads:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
  rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
  fds=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)
  mfd=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 -lname '/memfd:*' 2>/dev/null | wc -l)
  mmaps=$(awk '$6 ~ /^\/memfd:/ { print $5 }' "/proc/$pid/maps" 2>/dev/null | sort -u | wc -l)
  kids=$(descendants "$pid")
  for k in $kids; do
    r=$(awk '/^VmRSS:/ { print $2 }' "/proc/$k/status" 2>/dev/null || echo 0)
    krss=$((krss + ${r:-0}))
  done
  printf '%s %s %s %s %s %s %s\n' "${threads:-0}" "$fds" "${rss:-0}" "$mfd" "$mmaps" "$(printf '%s\n' $kids | grep -c .)" "$krss"
}

show() {  # show LABEL threads fds rss mfd mmaps kids krss
  printf '    %-6s threads %4s  fds %4s  rss %6s MiB  memfd fds %s  memfd files %s  children %s (rss %s MiB)\n' \
    "$1" "$2" "$3" "$(( $4 / 1024 ))" "$5" "$6" "$7" "$(( $8 / 1024 ))"
}

kill_tree() {
  local pid=$1 k
  for k in $(descendants "$pid"); do kill -9 "$k" 2>/dev/null; done
  kill -9 "$pid" 2>/dev/null
}

# wait_line FD WORD DEADLINE: reads guest output lines until one is "SOAK WORD"; echoes the others.
# Returns 1 when the deadline passed, 2 when herd's stdout ended (herd exited).
wait_line() {
  local fd=$1 word=$2 deadline=$3 line left
  while :; do
    left=$((deadline - SECONDS))
    [ "$left" -gt 0 ] || return 1
    IFS= read -r -t "$left" line <&"$fd"
    case $? in 0) ;; 1) return 2 ;; *) return 1 ;; esac   # 1: EOF (herd ended), >128: timeout
    [ "$line" = "SOAK $word" ] && return 0
    printf '    guest: %s\n' "$line"
  done
}

ended_or_slow() {  # why a marker did not come (wait_line's status $1)
  if [ "$1" = 2 ]; then echo "herd ended early"; else echo "not within ${BOUND} s"; fi
}

failed=0 results=()
for w in "${workloads[@]}"; do
  for mode in "${modes[@]}"; do
    # shellcheck disable=SC2207
    args=($(args_for "$w"))
    err=$(mktemp "${TMPDIR:-/tmp}/herd-soak-err.XXXXXX")
    echo "== soak $w [$mode]: bin/herd run --mode $mode soak_$w ${args[*]}"
    start=$SECONDS deadline=$((SECONDS + BOUND))
    coproc GUEST { exec "$HERD" run --mode "$mode" "$G/soak_$w" "${args[@]}" 2>"$err"; }
    pid=$GUEST_PID in=${GUEST[1]} out=${GUEST[0]}
    verdict=ok
    wait_line "$out" READY "$deadline"; ws=$?
    [ $ws = 0 ] || verdict="FAIL (no SOAK READY: $(ended_or_slow $ws))"
    if [ "$verdict" = ok ]; then
      t_ready=$SECONDS
      read -r -a before <<<"$(sample "$pid")"
      echo >&"$in"
      wait_line "$out" DONE "$deadline"; ws=$?
      [ $ws = 0 ] || verdict="FAIL (no SOAK DONE: $(ended_or_slow $ws))"
    fi
    if [ "$verdict" = ok ]; then
      t_done=$SECONDS
      read -r -a after <<<"$(sample "$pid")"
      echo >&"$in"
      while IFS= read -r -t $((deadline - SECONDS > 0 ? deadline - SECONDS : 1)) line <&"$out"; do printf '    guest: %s\n' "$line"; done
    fi
    exec {in}>&- 2>/dev/null
    if kill -0 "$pid" 2>/dev/null && [ "$verdict" = ok ]; then
      # give it the rest of its bound to exit
      while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt "$deadline" ]; do sleep 0.2; done
    fi
    if kill -0 "$pid" 2>/dev/null; then
      kill_tree "$pid"
      [ "$verdict" = ok ] && verdict="FAIL (did not exit within ${BOUND} s)"
    fi
    wait "$pid" 2>/dev/null; status=$?
    [ "$verdict" = ok ] && [ "$status" -ne 0 ] && verdict="FAIL (exit status $status)"
    if [ "$verdict" = ok ]; then
      show before "${before[@]}"
      show after "${after[@]}"
      # shellcheck disable=SC2206
      b=(${before[@]}) a=(${after[@]})
      why=""
      [ $((a[0] - b[0])) -gt 8 ] && why+=" threads +$((a[0] - b[0]))"
      [ $((a[1] - b[1])) -gt 2 ] && why+=" fds +$((a[1] - b[1]))"
      [ $((a[3] - b[3])) -gt 0 ] && why+=" memfd-fds +$((a[3] - b[3]))"
      [ $((a[4] - b[4])) -gt 0 ] && why+=" memfd-files +$((a[4] - b[4]))"
      [ $((a[5] - b[5])) -gt 0 ] && why+=" children +$((a[5] - b[5])) (rss +$(( (a[6] - b[6]) / 1024 )) MiB)"
      [ $((a[2] - b[2])) -gt 32768 ] && why+=" rss +$(( (a[2] - b[2]) / 1024 )) MiB"
      [ -n "$why" ] && verdict="FAIL (grew:$why)"
      echo "    measured rounds took $((t_done - t_ready)) s"
    fi
    if [ -s "$err" ]; then sed 's/^/    stderr: /' "$err" | head -n 20; fi
    rm -f "$err"
    echo "   -> $verdict ($((SECONDS - start)) s)"
    results+=("$(printf '%-8s %-9s %s' "$w" "$mode" "$verdict")")
    [ "$verdict" = ok ] || failed=1
  done
done
echo "== soak summary"
printf '  %s\n' "${results[@]}"
exit "$failed"
