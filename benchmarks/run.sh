#!/usr/bin/env bash
# Guest workload benchmark: each workload natively, under qemu-x86_64-static and under bin/herd,
# in one run; prints tables of medians and ratios and rewrites the results sections of
# docs/BENCHMARKS.md (between the "benchmarks/run.sh" markers) with the exact command, the date,
# the machine and the load average. A benchmark, not a test: never run by the build or the tests.
#
#   benchmarks/run.sh [--runs N] [--timeout SEC] [--small] [--no-doc] [--no-plots] [WORKLOAD...]
#
#   WORKLOAD   a program, a row key or a group (default: all; "all" names every group):
#                single    noop getppid xorshift sieve            (one guest thread; issue 2)
#                threads   threads_cpu (rows cpu1 cpu2 cpu4 cpu8), thread_create, condvar_pingpong,
#                          atomics (rows add1 add2 cas1 cas2)      (guest threads; issue 3)
#                signals   sig_latency (rows sigrun sigblk)        (signal delivery; issue 4)
#                programs  sort sha256sum gzip python3 pyfault perl sort2 true  (Debian's /usr/bin programs
#                          with the host as rootfs, also under herd --mode serial; issue 10)
#              noop always runs (the start-up reference for every section).
#   --runs N   timed runs per cell, median reported (default 5 for single, 3 for threads and
#              programs; one untimed check run before)
#   --timeout SEC  per process (default 300)
#   --small    a twentieth of every workload's size and of the programs' inputs (a smoke test;
#              the sections and plots say so)
#   --no-doc   print only, leave docs/BENCHMARKS.md and docs/img alone
#   --no-plots do not redraw docs/img/*.png (benchmarks/plot.sh; gnuplot)
#
# Single-thread workloads are timed with hyperfine when it is installed, else with a loop around
# date +%s%N. Thread workloads are always timed with that loop, because each run's stderr carries
# the workload's own in-guest measurement ("bench: seconds=S per_op=V unit=U", clock_gettime
# around the measured region, start-up excluded), reported next to the whole-process wall time.
# Every run's stdout is compared with the native output. A runner that fails (not installed,
# non-zero exit, wrong output, timeout) shows "failed" in its cell; the rest go on.
# With the doc, the plotted data go to docs/img/data/*.tsv and benchmarks/plot.sh redraws
# docs/img/*.png from them (each plot from the last run of its group).
# A full run of the programs rows also rewrites README.md's real-program table.
# Prerequisites: scripts/setup.sh, and for the herd columns a build (JAVA_HOME=<jdk> mvn -DskipTests package).
set -uo pipefail

ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
CMDLINE="benchmarks/run.sh${*:+ $*}"
RUNS=""
TIMEOUT=300
WRITE_DOC=1
PLOTS=1
SMALL=0
SELECTED=()
while [ $# -gt 0 ]; do
  case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    --no-doc) WRITE_DOC=0; shift ;;
    --no-plots) PLOTS=0; shift ;;
    --small) SMALL=1; shift ;;
    -h|--help) sed -n '2,34p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) SELECTED+=("$1"); shift ;;
  esac
done
RUNS_SINGLE=${RUNS:-5}
RUNS_THREADS=${RUNS:-3}
RUNS_PROGRAMS=${RUNS:-3}
SCALE=$([ $SMALL = 1 ] && echo 20 || echo 1)

# Single-thread section. name | arguments | iterations N (the argument; also run with N/10 for
# the per-iteration column) | what
WORKLOADS=(
  "noop||1|start-up and exit"
  "getppid|$((1000000 / SCALE))|$((1000000 / SCALE))|syscall round trip: getppid loop"
  "xorshift|$((300000000 / SCALE))|$((300000000 / SCALE))|register-only loop: xorshift64"
  "sieve|$((20000000 / SCALE))|$((20000000 / SCALE))|store-heavy: sieve of Eratosthenes to $((20 / SCALE))M (byte array)"
)
RUNNERS=(native qemu herd)

# Thread section. key | program | arguments | runners | what. Sizes: the in-guest region is
# ~0.1-4 s natively and seconds under herd (far above its ~0.4 s start-up); the primitives that
# cost milliseconds under herd (thread create) are sized so that a full run stays in minutes.
CPU_STEPS=$((600000000 / SCALE)) SIG_N=$((20000 / SCALE))
THREAD_WORKLOADS=(
  "cpu1|threads_cpu|1 $CPU_STEPS|native qemu herd herd-serial|CPU loop, 1 thread"
  "cpu2|threads_cpu|2 $CPU_STEPS|native qemu herd herd-serial|CPU loop, 2 threads"
  "cpu4|threads_cpu|4 $CPU_STEPS|native qemu herd|CPU loop, 4 threads"
  "cpu8|threads_cpu|8 $CPU_STEPS|native qemu herd|CPU loop, 8 threads"
  "create|thread_create|$((10000 / SCALE))|native qemu herd|thread create + join (µs per pair)"
  "pingpong|condvar_pingpong|$((100000 / SCALE))|native qemu herd|condvar ping-pong, 2 threads (µs per round trip)"
  "add1|atomics|add 1 $((20000000 / SCALE))|native qemu herd|atomic fetch_add (lock xadd), 1 thread, uncontended (ns per op)"
  "add2|atomics|add 2 $((20000000 / SCALE))|native qemu herd|atomic fetch_add (lock xadd), 2 threads on one word (ns per op)"
  "cas1|atomics|cas 1 $((20000000 / SCALE))|native qemu herd|lock cmpxchg increment loop, 1 thread, uncontended (ns per op)"
  "cas2|atomics|cas 2 $((20000000 / SCALE))|native qemu herd|lock cmpxchg increment loop, 2 threads on one word (ns per op)"
  "sigrun|sig_latency|running $SIG_N|native qemu herd|pthread_kill to handler entry, target spinning (µs per signal)"
  "sigblk|sig_latency|blocked $SIG_N|native qemu herd|pthread_kill to handler entry, target in sigsuspend (µs per signal)"
)
# Real programs (Debian's binaries, dynamically linked, the host as rootfs). key | what. The
# command lines are in prog_argv; the inputs are generated deterministically by prog_data.
PROGRAMS=(
  "sort|\`sort -n\` of NUMBERS_MB of numbers"
  "sha256sum|\`sha256sum\` of BIG_MB"
  "gzip|\`gzip -6 -n -c\` of BIG_MB (output bytes compared)"
  "python3|\`python3 -c\` loop of PY_ITERS multiply-adds"
  "pyfault|the same under \`python3 -X faulthandler\` (SIGSEGV/SIGBUS/SIGILL/SIGFPE handlers installed)"
  "perl|\`perl\` regex (backreference) over NUMBERS_MB"
  "sort2|\`sort --parallel=2 -n\` of NUMBERS_MB"
  "true|\`/bin/true\` (start-up and exit)"
)
PROGRAM_RUNNERS=(native qemu herd herd-serial)
if [ $SMALL = 1 ]; then NUM_LINES=16500 BIG_BYTES=1000000 PY_ITERS=150000; else NUM_LINES=330000 BIG_BYTES=20000000 PY_ITERS=3000000; fi
declare -A RUNNER_TITLE=([native]=native [qemu]=qemu-x86_64 [herd]="herd (parallel)" [herd-serial]="herd --mode serial")

selected() {  # key program group -> true when selected on the command line (or nothing was)
  [ ${#SELECTED[@]} -eq 0 ] && return 0
  local w
  for w in "${SELECTED[@]}"; do
    [ "$w" = all ] || [ "$w" = "$1" ] || [ "$w" = "$2" ] || [ "$w" = "$3" ] && return 0
  done
  return 1
}
# The thread workloads' rows fall into two sections of the report: sig* rows are "signals".
group_of() { case $1 in sig*) echo signals ;; *) echo threads ;; esac; }
RUN_SINGLE=0 RUN_THREADS=0 RUN_SIGNALS=0 RUN_PROGRAMS=0
for spec in "${WORKLOADS[@]}"; do
  IFS='|' read -r name _ <<<"$spec"
  [ "$name" != noop ] && selected "$name" "$name" single && RUN_SINGLE=1
done
for spec in "${THREAD_WORKLOADS[@]}"; do
  IFS='|' read -r key prog _ <<<"$spec"
  grp=$(group_of "$key")
  if selected "$key" "$prog" "$grp"; then
    if [ "$grp" = signals ]; then RUN_SIGNALS=1; else RUN_THREADS=1; fi
  fi
done
for spec in "${PROGRAMS[@]}"; do
  IFS='|' read -r key _ <<<"$spec"
  selected "$key" "$key" programs && RUN_PROGRAMS=1
done
if [ $RUN_SINGLE = 0 ] && [ $RUN_THREADS = 0 ] && [ $RUN_SIGNALS = 0 ] && [ $RUN_PROGRAMS = 0 ] && [ ${#SELECTED[@]} -gt 0 ] && [[ " ${SELECTED[*]} " != *" noop "* ]]; then
  echo "run.sh: no workload matches: ${SELECTED[*]}" >&2; exit 2
fi

WL_DIR=$ROOT/benchmarks/target/workloads
if ! make -s -C "$ROOT/benchmarks/src/main/c" OUT="$WL_DIR" >/dev/null; then
  echo "run.sh: could not build the workloads (gcc and make needed: scripts/setup.sh)" >&2
  exit 1
fi

HYPERFINE=$(command -v hyperfine || true)
loadavg() { cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?"; }
load1() { cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0; }
LOAD_START=$(loadavg)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/herd-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

runner_cmd() {   # runner workload-path args... -> prints nothing, sets CMD array
  local runner=$1; shift
  case $runner in
    native) CMD=("$@") ;;
    qemu) CMD=(qemu-x86_64-static "$@") ;;
    herd) CMD=("$ROOT/bin/herd" run --mode parallel "$@") ;;   # parallel is herd's default
    herd-serial) CMD=("$ROOT/bin/herd" run --mode serial "$@") ;;
  esac
}

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) exit 1; if (NR % 2) print a[(NR + 1) / 2]; else printf "%.6f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# measure RUNNER NAME ARGS -> sets RESULT (median seconds) or FAIL (reason)
measure() {
  local runner=$1 name=$2 args=$3 expected=$4
  RESULT="" FAIL=""
  local -a argv=("$WL_DIR/$name")
  # shellcheck disable=SC2206
  [ -n "$args" ] && argv+=($args)
  runner_cmd "$runner" "${argv[@]}"
  if [ "$runner" = qemu ] && ! command -v qemu-x86_64-static >/dev/null; then FAIL="qemu-x86_64-static not installed"; return; fi
  # Check run (also the warm-up): exit 0 and the same stdout as native.
  timeout "$TIMEOUT" "${CMD[@]}" >"$TMP/out" 2>"$TMP/err" </dev/null
  local st=$?
  if [ $st -eq 124 ]; then FAIL="timed out after ${TIMEOUT}s"; return; fi
  if [ $st -ne 0 ]; then FAIL="exit $st: $(head -c 300 "$TMP/err" | head -n 1)"; return; fi
  if [ -n "$expected" ] && ! cmp -s "$TMP/out" "$expected"; then FAIL="wrong output: $(head -c 200 "$TMP/out" | head -n 1)"; return; fi
  if [ -n "$HYPERFINE" ]; then
    local q="" a
    for a in timeout "$TIMEOUT" "${CMD[@]}"; do q+="$(printf '%q' "$a") "; done
    if ! "$HYPERFINE" -N --style none --runs "$RUNS_SINGLE" --export-csv "$TMP/hf.csv" -- "$q" >"$TMP/hf.log" 2>&1; then
      FAIL="hyperfine: $(tail -n 1 "$TMP/hf.log")"; return
    fi
    RESULT=$(awk -F, 'NR == 2 { print $4 }' "$TMP/hf.csv")   # command,mean,stddev,median,...
  else
    local i t0 t1
    : >"$TMP/times"
    for ((i = 0; i < RUNS_SINGLE; i++)); do
      t0=$(date +%s%N)
      timeout "$TIMEOUT" "${CMD[@]}" >/dev/null 2>&1 </dev/null
      st=$?
      t1=$(date +%s%N)
      if [ $st -ne 0 ]; then FAIL="exit $st on timed run $((i + 1))"; return; fi
      echo "$(( t1 - t0 ))" | awk '{ printf "%.6f\n", $1 / 1e9 }' >>"$TMP/times"
    done
    RESULT=$(median <"$TMP/times")
  fi
}

fmt_s() { awk -v t="$1" 'BEGIN { printf "%.3f s", t }'; }
ratio() { if [ -n "$1" ] && [ -n "$2" ]; then awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f×", a / b; else print "—" }'; else echo "—"; fi; }
per_iter() {  # time(N) time(N/10) N -> ns per iteration, start-up and fixed costs cancelled
  if [ -z "$1" ] || [ -z "$2" ] || [ "$3" -le 1 ]; then echo "—"; return; fi
  awk -v t="$1" -v s="$2" -v n="$3" 'BEGIN { v = (t - s) / (n - int(n / 10)) * 1e9; if (v < 0) { print "(noise)"; exit } if (v >= 100) printf "%.0f ns", v; else printf "%.1f ns", v }'
}

# measure_guest RUNNER PROGRAM ARGS EXPECTED -> median wall time RESULT, median in-guest region
# GSEC and per-op GPER (unit GUNIT), or FAIL. One untimed check run, then RUNS_THREADS timed
# runs; every run's stdout must equal the native output and its stderr must carry a bench: line.
# The 1-min load average before each run is appended to LOADS.
measure_guest() {
  local runner=$1 name=$2 args=$3 expected=$4
  RESULT="" GSEC="" GPER="" GUNIT="" FAIL=""
  local -a argv=("$WL_DIR/$name")
  # shellcheck disable=SC2206
  [ -n "$args" ] && argv+=($args)
  runner_cmd "$runner" "${argv[@]}"
  if [ "$runner" = qemu ] && ! command -v qemu-x86_64-static >/dev/null; then FAIL="qemu-x86_64-static not installed"; return; fi
  : >"$TMP/walls"; : >"$TMP/gsecs"; : >"$TMP/gpers"
  local i st t0 t1 line
  for ((i = 0; i <= RUNS_THREADS; i++)); do
    [ $i -gt 0 ] && LOADS+=" $(load1)"
    t0=$(date +%s%N)
    timeout "$TIMEOUT" "${CMD[@]}" >"$TMP/out" 2>"$TMP/err" </dev/null
    st=$?
    t1=$(date +%s%N)
    local which=$([ $i -eq 0 ] && echo "check run" || echo "timed run $i")
    if [ $st -eq 124 ]; then FAIL="timed out after ${TIMEOUT}s ($which)"; return; fi
    if [ $st -ne 0 ]; then FAIL="exit $st ($which): $(grep -v '^bench: ' "$TMP/err" | head -c 300 | head -n 1)"; return; fi
    if [ -n "$expected" ] && ! cmp -s "$TMP/out" "$expected"; then FAIL="wrong output ($which): $(head -c 200 "$TMP/out" | head -n 1)"; return; fi
    line=$(sed -n 's/^bench: seconds=\([^ ]*\) per_op=\([^ ]*\) unit=\(.*\)$/\1 \2 \3/p' "$TMP/err" | tail -n 1)
    if [ -z "$line" ]; then FAIL="no 'bench:' line on stderr ($which)"; return; fi
    [ $i -eq 0 ] && continue
    echo "$(( t1 - t0 ))" | awk '{ printf "%.6f\n", $1 / 1e9 }' >>"$TMP/walls"
    local a b; read -r a b GUNIT <<<"$line"
    echo "$a" >>"$TMP/gsecs"; echo "$b" >>"$TMP/gpers"
  done
  RESULT=$(median <"$TMP/walls"); GSEC=$(median <"$TMP/gsecs"); GPER=$(median <"$TMP/gpers")
}

declare -A T F G P L D
NOTES=()
# One cell: KEY RUNNER NAME ARGS; native runs first and its stdout becomes the expected output.
cell() {
  local key=$1 runner=$2 name=$3 args=$4 expected=""
  [ "$runner" != native ] && [ -f "$TMP/expected-$key" ] && expected=$TMP/expected-$key
  printf '  %-26s %-11s ... ' "$name${args:+ $args}" "$runner" >&2
  L[$key]+=" $(load1)"
  measure "$runner" "$name" "$args" "$expected"
  L[$key]+=" $(load1)"
  if [ -n "$FAIL" ]; then
    F[$key,$runner]=$FAIL
    echo "failed ($FAIL)" >&2
    NOTES+=("$runner on \`$name${args:+ $args}\` failed: $FAIL")
  else
    T[$key,$runner]=$RESULT
    D[$key,$runner]=$(sed -n 's/^dist: //p' "$TMP/err" 2>/dev/null | tail -n 1)
    fmt_s "$RESULT" >&2; echo >&2
    [ "$runner" = native ] && cp "$TMP/out" "$TMP/expected-$key"
  fi
}
# The same for a thread workload (in-guest measurement as well).
gcell() {
  local key=$1 runner=$2 name=$3 args=$4 expected=""
  [ "$runner" != native ] && [ -f "$TMP/expected-$key" ] && expected=$TMP/expected-$key
  printf '  %-26s %-11s ... ' "$name${args:+ $args}" "$runner" >&2
  LOADS=""
  measure_guest "$runner" "$name" "$args" "$expected"
  L[$key]+="$LOADS"
  if [ -n "$FAIL" ]; then
    F[$key,$runner]=$FAIL
    echo "failed ($FAIL)" >&2
    TNOTES+=("$runner on \`$name${args:+ $args}\` failed: $FAIL")
  else
    T[$key,$runner]=$RESULT G[$key,$runner]=$GSEC P[$key,$runner]=$GPER
    D[$key,$runner]=$(sed -n 's/^dist: //p' "$TMP/err" | tail -n 1)
    echo "wall $(fmt_s "$RESULT"), in guest $(fmt_s "$GSEC"), $(fmt_v "$GPER") $GUNIT (load$LOADS)" >&2
    [ "$runner" = native ] && cp "$TMP/out" "$TMP/expected-$key"
  fi
}

fmt_v() { awk -v v="$1" 'BEGIN { if (v >= 100) printf "%.0f", v; else if (v >= 10) printf "%.1f", v; else printf "%.2f", v }'; }
load_range() { echo "$1" | tr ' ' '\n' | awk 'NF { if (n == 0 || $1 < lo) lo = $1; if (n == 0 || $1 > hi) hi = $1; n++ } END { if (n == 0) print "—"; else if (lo == hi) print lo; else print lo "–" hi }'; }

TNOTES=()
if [ $RUN_SINGLE = 1 ] || { [ $RUN_THREADS = 0 ] && [ $RUN_SIGNALS = 0 ] && [ $RUN_PROGRAMS = 0 ]; }; then echo "Single-thread workloads ($RUNS_SINGLE timed runs each):" >&2; else echo "Start-up reference:" >&2; fi
for spec in "${WORKLOADS[@]}"; do
  IFS='|' read -r name args iters what <<<"$spec"
  if [ "$name" != noop ] && ! selected "$name" "$name" single; then continue; fi
  for runner in "${RUNNERS[@]}"; do
    cell "$name" "$runner" "$name" "$args"
    # The same workload at a tenth of the size: the difference is the cost of 90% of the
    # iterations with start-up and fixed costs cancelled (the per-iteration column).
    if [ "$iters" -gt 1 ]; then cell "$name@small" "$runner" "$name" "$((iters / 10))"; fi
  done
done
if [ $RUN_THREADS = 1 ] || [ $RUN_SIGNALS = 1 ]; then
  echo "Thread and signal workloads ($RUNS_THREADS timed runs each):" >&2
  for spec in "${THREAD_WORKLOADS[@]}"; do
    IFS='|' read -r key prog args runners what <<<"$spec"
    selected "$key" "$prog" "$(group_of "$key")" || continue
    for runner in $runners; do gcell "$key" "$runner" "$prog" "$args"; done
  done
fi

# ---- Real programs -------------------------------------------------------------------------
# Inputs, generated deterministically (a Park-Miller PRNG in awk: exact in any awk's doubles) and
# kept in benchmarks/target/programs-data/ between runs: numbers.txt, NUM_LINES integers below
# 10^7, one per line (~2.6 MB); big.txt, the numbers repeated and cut to BIG_BYTES (text that
# gzip compresses ~2.3:1; the repeats are 2.6 MB apart, far beyond gzip's 32 KiB window).
DATA_DIR=$ROOT/benchmarks/target/programs-data/$NUM_LINES-$BIG_BYTES
prog_data() {
  [ -f "$DATA_DIR/done" ] && return 0
  mkdir -p "$DATA_DIR" || return 1
  awk -v n="$NUM_LINES" 'BEGIN { x = 20261203; for (i = 0; i < n; i++) { x = (x * 16807) % 2147483647; print x % 10000000 } }' \
    >"$DATA_DIR/numbers.txt" || return 1
  local sz; sz=$(stat -c %s "$DATA_DIR/numbers.txt")
  { for ((i = 0; i <= BIG_BYTES / sz; i++)); do cat "$DATA_DIR/numbers.txt"; done; } | head -c "$BIG_BYTES" >"$DATA_DIR/big.txt"
  touch "$DATA_DIR/done"
}
PERL_SCRIPT='my $n = 0; while (<>) { $n++ if /^(\d)\d*\1$/ || /(\d\d)\d*\1/ } print "$n\n";'
PY_SCRIPT="x = 0
for i in range($PY_ITERS):
    x = (x * 31 + i) % 1000003
print(x)"
prog_argv() {  # KEY -> PARGV (the command line, native)
  case $1 in
    sort) PARGV=(/usr/bin/sort -n "$DATA_DIR/numbers.txt") ;;
    sha256sum) PARGV=(/usr/bin/sha256sum "$DATA_DIR/big.txt") ;;
    gzip) PARGV=(/usr/bin/gzip -6 -n -c "$DATA_DIR/big.txt") ;;
    python3) PARGV=(/usr/bin/python3 -c "$PY_SCRIPT") ;;
    pyfault) PARGV=(/usr/bin/python3 -X faulthandler -c "$PY_SCRIPT") ;;
    perl) PARGV=(/usr/bin/perl -e "$PERL_SCRIPT" "$DATA_DIR/numbers.txt") ;;
    sort2) PARGV=(/usr/bin/sort --parallel=2 -n "$DATA_DIR/numbers.txt") ;;
    true) PARGV=(/bin/true) ;;
  esac
}
prog_what() {  # KEY -> the table's description, sizes filled in
  local spec k w mb big
  mb=$(awk -v b="$(stat -c %s "$DATA_DIR/numbers.txt" 2>/dev/null || echo 0)" 'BEGIN { printf "%.1f MB", b / 1e6 }')
  big=$(awk -v b="$BIG_BYTES" 'BEGIN { printf "%g MB", b / 1e6 }')
  for spec in "${PROGRAMS[@]}"; do
    IFS='|' read -r k w <<<"$spec"
    if [ "$k" = "$1" ]; then w=${w//NUMBERS_MB/$mb}; w=${w//BIG_MB/$big}; echo "${w//PY_ITERS/$PY_ITERS}"; return; fi
  done
}

# measure_prog RUNNER KEY EXPECTED -> median wall time RESULT, or FAIL. One untimed check run,
# then RUNS_PROGRAMS timed runs; every run's stdout must equal the native output (a program
# that prints something else is "failed", its time is not reported). Programs are timed with
# run.sh's own loop (their stdout is kept for the comparison); LOADS gets the 1-min load average.
measure_prog() {
  local runner=$1 key=$2 expected=$3
  RESULT="" FAIL=""
  prog_argv "$key"
  runner_cmd "$runner" "${PARGV[@]}"
  if [ "$runner" = qemu ] && ! command -v qemu-x86_64-static >/dev/null; then FAIL="qemu-x86_64-static not installed"; return; fi
  : >"$TMP/walls"
  local i st t0 t1
  for ((i = 0; i <= RUNS_PROGRAMS; i++)); do
    [ $i -gt 0 ] && LOADS+=" $(load1)"
    t0=$(date +%s%N)
    timeout "$TIMEOUT" "${CMD[@]}" >"$TMP/out" 2>"$TMP/err" </dev/null
    st=$?
    t1=$(date +%s%N)
    local which=$([ $i -eq 0 ] && echo "check run" || echo "timed run $i")
    if [ $st -eq 124 ]; then FAIL="timed out after ${TIMEOUT}s ($which)"; return; fi
    if [ $st -ne 0 ]; then FAIL="exit $st ($which): $(head -c 300 "$TMP/err" | head -n 1)"; return; fi
    if [ -n "$expected" ] && ! cmp -s "$TMP/out" "$expected"; then FAIL="wrong output ($which): $(head -c 120 "$TMP/out" | tr -c '[:print:]' '?' | head -c 60)"; return; fi
    [ $i -eq 0 ] && continue
    echo "$(( t1 - t0 ))" | awk '{ printf "%.6f\n", $1 / 1e9 }' >>"$TMP/walls"
  done
  RESULT=$(median <"$TMP/walls")
}
PNOTES=()
if [ $RUN_PROGRAMS = 1 ]; then
  if ! prog_data; then echo "run.sh: could not generate the program inputs in $DATA_DIR" >&2; exit 1; fi
  echo "Real programs ($RUNS_PROGRAMS timed runs each; inputs in $DATA_DIR):" >&2
  for spec in "${PROGRAMS[@]}"; do
    IFS='|' read -r key _ <<<"$spec"
    selected "$key" "$key" programs || continue
    for runner in "${PROGRAM_RUNNERS[@]}"; do
      expected=""
      [ "$runner" != native ] && [ -f "$TMP/expected-prog-$key" ] && expected=$TMP/expected-prog-$key
      printf '  %-26s %-11s ... ' "$key" "$runner" >&2
      LOADS=""
      if [ "$runner" != native ] && [ -z "$expected" ]; then
        RESULT="" FAIL="native run failed: no output to compare with"
      else
        measure_prog "$runner" "$key" "$expected"
      fi
      L[prog-$key]+="$LOADS"
      if [ -n "$FAIL" ]; then
        F[prog-$key,$runner]=$FAIL
        echo "failed ($FAIL)" >&2
        PNOTES+=("$runner on \`$key\` failed: $FAIL")
      else
        T[prog-$key,$runner]=$RESULT
        echo "$(fmt_s "$RESULT") (load$LOADS)" >&2
        [ "$runner" = native ] && cp "$TMP/out" "$TMP/expected-prog-$key"
      fi
    done
  done
fi
LOAD_END=$(loadavg)

table() {
  echo "| workload | native | qemu-x86_64 | herd | qemu / native | herd / native | herd / qemu | per iteration: (t(N) − t(N/10)) / 0.9 N (native / qemu / herd) | load (1 min) |"
  echo "|---|---:|---:|---:|---:|---:|---:|---|---|"
  local spec name args iters what cells runner v
  for spec in "${WORKLOADS[@]}"; do
    IFS='|' read -r name args iters what <<<"$spec"
    if [ -z "${T[$name,native]:-}${F[$name,native]:-}" ]; then continue; fi
    cells=""
    for runner in "${RUNNERS[@]}"; do
      v=${T[$name,$runner]:-}
      if [ -n "$v" ]; then cells+=" $(fmt_s "$v") |"; else cells+=" $runner: failed |"; fi
    done
    local n=${T[$name,native]:-} q=${T[$name,qemu]:-} h=${T[$name,herd]:-}
    echo "| \`$name${args:+ $args}\` — $what |$cells $(ratio "$q" "$n") | $(ratio "$h" "$n") | $(ratio "$h" "$q") | $(per_iter "$n" "${T[$name@small,native]:-}" "$iters") / $(per_iter "$q" "${T[$name@small,qemu]:-}" "$iters") / $(per_iter "$h" "${T[$name@small,herd]:-}" "$iters") | $(load_range "${L[$name]:-} ${L[$name@small]:-}") |"
  done
}

# A cell of the thread tables: VALUE-ARRAY KEY RUNNER FORMATTER
tcell() {
  local -n arr=$1
  local v=${arr[$2,$3]:-}
  if [ -n "$v" ]; then "$4" "$v"
  elif [ -n "${F[$2,$3]:-}" ]; then echo "$3: failed"
  else echo "—"; fi
}
fmt_s_short() { awk -v t="$1" 'BEGIN { printf "%.2f s", t }'; }
spec_of() { local spec k; for spec in "${THREAD_WORKLOADS[@]}"; do IFS='|' read -r k _ <<<"$spec"; [ "$k" = "$1" ] && { echo "$spec"; return; }; done; }

threads_tables() {
  local key prog args runners what r walls
  local scaling=0 prims=0
  for key in cpu1 cpu2 cpu4 cpu8; do [ -n "${L[$key]:-}" ] && scaling=1; done
  for key in create pingpong add1 add2 cas1 cas2; do [ -n "${L[$key]:-}" ] && prims=1; done
  if [ $scaling = 1 ]; then
    echo "**CPU loop** \`threads_cpu T $CPU_STEPS\`: T threads, each $CPU_STEPS xorshift64 steps (fixed work per thread). In-guest region (create of the first thread to join of the last, median) and, in brackets, its ratio to T = 1; on 2 cores the ideal is 1.0× for T = 2, 2.0× for T = 4, 4.0× for T = 8."
    echo
    echo "| T | native | qemu-x86_64 | herd (parallel) | herd --mode serial | whole process, start-up included (native / qemu / herd / herd serial) | load (1 min) |"
    echo "|---:|---:|---:|---:|---:|---|---|"
    for key in cpu1 cpu2 cpu4 cpu8; do
      [ -n "${L[$key]:-}" ] || continue
      IFS='|' read -r _ prog args runners what <<<"$(spec_of "$key")"
      local row="| ${args%% *} |" r
      for r in native qemu herd herd-serial; do
        local g=${G[$key,$r]:-} g1=${G[cpu1,$r]:-}
        if [ -n "$g" ]; then row+=" $(fmt_s_short "$g")$([ -n "$g1" ] && echo " ($(ratio "$g" "$g1"))") |"
        elif [ -n "${F[$key,$r]:-}" ]; then row+=" $r: failed |"
        else row+=" — |"; fi
      done
      walls=""
      for r in native qemu herd herd-serial; do walls+="${walls:+ / }$(tcell T "$key" "$r" fmt_s_short)"; done
      echo "$row $walls | $(load_range "${L[$key]}") |"
    done
    echo
    if [ -n "${L[cpu1]:-}" ] && [ -n "${L[cpu2]:-}" ]; then
      local line="**2 threads vs 1** (wall(T=2) / wall(T=1), goal for herd ≤ 1.3×): in-guest region —" sep=""
      for r in native qemu herd herd-serial; do
        line+="$sep ${RUNNER_TITLE[$r]} $(ratio "${G[cpu2,$r]:-}" "${G[cpu1,$r]:-}")"; sep=";"
      done
      line+="; whole process —"; sep=""
      for r in native qemu herd herd-serial; do
        line+="$sep ${RUNNER_TITLE[$r]} $(ratio "${T[cpu2,$r]:-}" "${T[cpu1,$r]:-}")"; sep=";"
      done
      local verdict
      verdict=$(awk -v a="${G[cpu2,herd]:-}" -v b="${G[cpu1,herd]:-}" 'BEGIN { if (a == "" || b == "" || b <= 0) print "not measured"; else if (a / b <= 1.3) print "met"; else print "not met" }')
      echo "$line. Goal: **$verdict**."
      echo
    fi
  fi
  if [ $prims = 1 ]; then
    echo "**Thread primitives**: the workload's own per-operation cost (in-guest clock_gettime around the measured region, start-up excluded; median), and the whole-process wall time."
    echo
    echo "| workload | native | qemu-x86_64 | herd (parallel) | qemu / native | herd / native | herd / qemu | whole process, start-up included (native / qemu / herd) | load (1 min) |"
    echo "|---|---:|---:|---:|---:|---:|---:|---|---|"
    for key in create pingpong add1 add2 cas1 cas2; do
      [ -n "${L[$key]:-}" ] || continue
      IFS='|' read -r _ prog args runners what <<<"$(spec_of "$key")"
      local n=${P[$key,native]:-} q=${P[$key,qemu]:-} h=${P[$key,herd]:-}
      echo "| \`$prog $args\` — $what | $(tcell P "$key" native fmt_v) | $(tcell P "$key" qemu fmt_v) | $(tcell P "$key" herd fmt_v) | $(ratio "$q" "$n") | $(ratio "$h" "$n") | $(ratio "$h" "$q") | $(tcell T "$key" native fmt_s_short) / $(tcell T "$key" qemu fmt_s_short) / $(tcell T "$key" herd fmt_s_short) | $(load_range "${L[$key]}") |"
    done
  fi
}

signals_table() {
  echo "**Signal delivery latency** \`sig_latency MODE $SIG_N\`: from just before \`pthread_kill\` in the sender to the first instruction of the handler in the target thread (in-guest clock_gettime on both sides; mean over $SIG_N signals sent one at a time; median of the runs). Their distributions are in docs/img/latency.png."
  echo
  echo "| workload | native | qemu-x86_64 | herd (parallel) | qemu / native | herd / native | herd / qemu | whole process, start-up included (native / qemu / herd) | load (1 min) |"
  echo "|---|---:|---:|---:|---:|---:|---:|---|---|"
  local key prog args runners what
  for key in sigrun sigblk; do
    [ -n "${L[$key]:-}" ] || continue
    IFS='|' read -r _ prog args runners what <<<"$(spec_of "$key")"
    local n=${P[$key,native]:-} q=${P[$key,qemu]:-} h=${P[$key,herd]:-}
    echo "| \`$prog $args\` — $what | $(tcell P "$key" native fmt_v) | $(tcell P "$key" qemu fmt_v) | $(tcell P "$key" herd fmt_v) | $(ratio "$q" "$n") | $(ratio "$h" "$n") | $(ratio "$h" "$q") | $(tcell T "$key" native fmt_s_short) / $(tcell T "$key" qemu fmt_s_short) / $(tcell T "$key" herd fmt_s_short) | $(load_range "${L[$key]}") |"
  done
}

programs_table() {
  echo "| program | native | qemu-x86_64 | herd (parallel) | herd --mode serial | qemu / native | herd / native | herd / qemu | goal: herd ≤ 2× qemu | load (1 min) |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---|---|"
  local spec key r cells goal
  for spec in "${PROGRAMS[@]}"; do
    IFS='|' read -r key _ <<<"$spec"
    [ -n "${L[prog-$key]:-}${F[prog-$key,native]:-}" ] || continue
    cells=""
    for r in "${PROGRAM_RUNNERS[@]}"; do cells+=" $(tcell T "prog-$key" "$r" fmt_s) |"; done
    local n=${T[prog-$key,native]:-} q=${T[prog-$key,qemu]:-} h=${T[prog-$key,herd]:-}
    goal=$(awk -v h="$h" -v q="$q" 'BEGIN { if (h == "" || q == "" || q <= 0) print "—"; else if (h / q <= 2) print "met"; else printf "**not met** (%.1f×)", h / q }')
    echo "| $(prog_what "$key") |$cells $(ratio "$q" "$n") | $(ratio "$h" "$n") | $(ratio "$h" "$q") | $goal | $(load_range "${L[prog-$key]:-}") |"
  done
}

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
java_desc=$(. "$ROOT/scripts/jdk.sh"; h=$(herd_find_java_home 22) && sed -n 's/^JAVA_RUNTIME_VERSION="\(.*\)"/\1/p' "$h/release" | head -n 1 || echo "none")
qemu_desc=$(qemu-x86_64-static --version 2>/dev/null | head -n 1 || echo "not installed")
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "?")
if [ -n "$(git -C "$ROOT" status --porcelain -- . ':!docs/BENCHMARKS.md' 2>/dev/null)" ]; then commit+=" (with uncommitted changes)"; fi

header() {  # TIMER-DESCRIPTION
  echo "Command: \`$CMDLINE\` (from the repository root)"
  echo
  echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit $commit"
  echo "- Machine: $(nproc) cores, ${cpu:-unknown CPU}, Linux $(uname -r)"
  echo "- Java: ${java_desc:-none}; qemu: $qemu_desc; timing: $1"
  if [ $SMALL = 1 ]; then
    echo "- **Smoke run (\`--small\`): a twentieth of every size; numbers only show that the benchmark works, they are not results.**"
  fi
  echo "- Load average (1/5/15 min) at start: $LOAD_START, at end: $LOAD_END; the load column is the 1-min load average sampled around each measurement (min–max). Other work on the machine (2 cores, shared) inflates times, the threaded ones most."
}

SECTIONS=()
if [ $RUN_SINGLE = 1 ]; then
  {
    header "$([ -n "$HYPERFINE" ] && echo "hyperfine, median of $RUNS_SINGLE runs" || echo "median of $RUNS_SINGLE runs (date +%s%N)"), each after one untimed check run"
    echo "- Times are wall-clock for the whole process, start-up included (see the noop row)."
    echo
    table
    if [ ${#NOTES[@]} -gt 0 ]; then
      echo
      echo "Failures:"
      for n in "${NOTES[@]}"; do echo "- $n"; done
    fi
  } >"$TMP/section-single.md"
  SECTIONS+=(single)
fi
if [ $RUN_THREADS = 1 ]; then
  {
    header "median of $RUNS_THREADS runs (date +%s%N around the process, clock_gettime inside the guest), each after one untimed check run"
    echo "- Start-up of each runner (\`noop\`, median): native $(tcell T noop native fmt_s), qemu $(tcell T noop qemu fmt_s), herd $(tcell T noop herd fmt_s); the whole-process times include it, the in-guest numbers do not."
    echo
    threads_tables
    if [ ${#TNOTES[@]} -gt 0 ] || [ ${#NOTES[@]} -gt 0 ]; then
      echo
      echo "Failures:"
      for n in "${NOTES[@]}" "${TNOTES[@]}"; do [ -n "$n" ] && echo "- $n"; done
    fi
  } >"$TMP/section-threads.md"
  SECTIONS+=(threads)
fi

if [ $RUN_PROGRAMS = 1 ]; then
  {
    header "median of $RUNS_PROGRAMS runs (date +%s%N around the process), each after one untimed check run"
    echo "- Inputs (benchmarks/target/programs-data, generated by run.sh with a fixed-seed PRNG): $NUM_LINES integers below 10^7 ($(stat -c %s "$DATA_DIR/numbers.txt") bytes), and that text repeated to $BIG_BYTES bytes. Programs are Debian's (/usr/bin, dynamically linked) with the host as rootfs; every run's stdout is compared with the native run's (gzip: the compressed bytes, \`-n\` so no timestamp)."
    echo "- Times are wall-clock for the whole process, start-up included (herd's JVM start-up: see \`true\`). The goal (issue 10) is herd (parallel) at most 2× qemu-user on every row."
    echo
    programs_table
    if [ ${#PNOTES[@]} -gt 0 ]; then
      echo
      echo "Failures:"
      for n in "${PNOTES[@]}"; do echo "- $n"; done
    fi
  } >"$TMP/section-programs.md"
  SECTIONS+=(programs)
fi

if [ $RUN_SIGNALS = 1 ]; then
  {
    header "median of $RUNS_THREADS runs (date +%s%N around the process, clock_gettime inside the guest), each after one untimed check run"
    echo
    signals_table
    if [ ${#TNOTES[@]} -gt 0 ]; then
      echo
      echo "Failures:"
      for n in "${TNOTES[@]}"; do [ -n "$n" ] && echo "- $n"; done
    fi
  } >"$TMP/section-signals.md"
  SECTIONS+=(signals)
fi

for sec in "${SECTIONS[@]}"; do echo; cat "$TMP/section-$sec.md"; done

# Plot data (docs/img/data/*.tsv, one file per plot, rewritten only by a run of its group) and
# the plots themselves (benchmarks/plot.sh). Missing values are NaN.
write_plot_data() {
  local dir=$ROOT/docs/img/data stamp key r row
  mkdir -p "$dir" || return 1
  stamp="# $(date -u '+%Y-%m-%d %H:%M UTC'); commit $commit; $(nproc) cores; load at start $LOAD_START, at end $LOAD_END$([ $SMALL = 1 ] && echo "; SMOKE RUN (--small)")"
  num() { [ -n "$1" ] && echo "$1" || echo NaN; }
  if [ $RUN_PROGRAMS = 1 ]; then
    { echo "$stamp"; echo "program native qemu-user herd herd-serial"
      for spec in "${PROGRAMS[@]}"; do
        IFS='|' read -r key _ <<<"$spec"
        [ -n "${L[prog-$key]:-}${F[prog-$key,native]:-}" ] || continue
        row=$key
        for r in "${PROGRAM_RUNNERS[@]}"; do row+=" $(num "${T[prog-$key,$r]:-}")"; done
        echo "$row"
      done; } >"$dir/programs.tsv"
  fi
  if [ $RUN_THREADS = 1 ] && [ -n "${L[cpu1]:-}" ]; then
    { echo "$stamp"; echo "threads native qemu-user herd herd-serial"
      for key in cpu1 cpu2 cpu4 cpu8; do
        [ -n "${L[$key]:-}" ] || continue
        row=${key#cpu}
        for r in native qemu herd herd-serial; do row+=" $(num "${G[$key,$r]:-}")"; done
        echo "$row"
      done; } >"$dir/threads-scaling.tsv"
  fi
  local k any unit
  for k in getppid pingpong sigrun sigblk; do
    any=0 unit=""
    for r in native qemu herd; do
      if [ -n "${D[$k,$r]:-}" ]; then any=1; unit=$(echo "${D[$k,$r]}" | sed -n 's/^unit=\([^ ]*\).*/\1/p'); fi
    done
    [ $any = 1 ] || continue
    for r in native qemu herd; do echo "${D[$k,$r]:-}" | tr ' ' '\n' | grep -v '=' | grep . >"$TMP/dist-$r"; done
    { echo "$stamp; unit $unit; n: native $(echo "${D[$k,native]:-}" | sed -n 's/.*n=\([0-9]*\).*/\1/p'), qemu $(echo "${D[$k,qemu]:-}" | sed -n 's/.*n=\([0-9]*\).*/\1/p'), herd $(echo "${D[$k,herd]:-}" | sed -n 's/.*n=\([0-9]*\).*/\1/p')"
      echo "percentile native qemu-user herd"
      awk -v files="$TMP/dist-native $TMP/dist-qemu $TMP/dist-herd" '{ v[FILENAME, FNR] = $1 }
        END { n = split(files, f, " ")
              for (i = 1; i <= 201; i++) { printf "%g", (i - 1) / 2
                for (j = 1; j <= n; j++) { x = v[f[j], i]; printf " %s", (x == "" ? "NaN" : x) }
                print "" } }' "$TMP/dist-native" "$TMP/dist-qemu" "$TMP/dist-herd"; } >"$dir/latency-$k.tsv"
  done
}
if [ "$WRITE_DOC" = 1 ]; then
  write_plot_data
  if [ "$PLOTS" = 1 ]; then
    if command -v gnuplot >/dev/null; then
      "$ROOT/benchmarks/plot.sh" && echo "Redrew the plots in docs/img (benchmarks/plot.sh)"
    else
      echo "run.sh: gnuplot not installed (scripts/setup.sh installs gnuplot-nox): plots not redrawn; data in docs/img/data" >&2
    fi
  fi
fi

if [ "$WRITE_DOC" = 1 ]; then
  doc=$ROOT/docs/BENCHMARKS.md
  for sec in "${SECTIONS[@]}"; do
    if [ "$sec" = single ]; then
      begin='<!-- benchmarks/run.sh: begin (generated, do not edit by hand) -->'
      end='<!-- benchmarks/run.sh: end -->'
      title="Latest results: single thread"
    elif [ "$sec" = programs ]; then
      begin='<!-- benchmarks/run.sh programs: begin (generated, do not edit by hand) -->'
      end='<!-- benchmarks/run.sh programs: end -->'
      title="Latest results: real programs"
    elif [ "$sec" = signals ]; then
      begin='<!-- benchmarks/run.sh signals: begin (generated, do not edit by hand) -->'
      end='<!-- benchmarks/run.sh signals: end -->'
      title="Latest results: signals"
    else
      begin='<!-- benchmarks/run.sh threads: begin (generated, do not edit by hand) -->'
      end='<!-- benchmarks/run.sh threads: end -->'
      title="Latest results: threads"
    fi
    if [ ! -f "$doc" ] || ! grep -qF "$begin" "$doc"; then
      { [ -f "$doc" ] && cat "$doc"; echo; echo "## $title"; echo; echo "$begin"; echo "$end"; } >"$TMP/doc.md"
      cp "$TMP/doc.md" "$doc"
    fi
    awk -v b="$begin" -v e="$end" -v f="$TMP/section-$sec.md" '
      $0 == b { print; while ((getline line < f) > 0) print line; skip = 1; next }
      $0 == e { skip = 0 }
      !skip { print }' "$doc" >"$TMP/doc.md" && cp "$TMP/doc.md" "$doc"
    echo
    echo "Wrote the $sec results section of docs/BENCHMARKS.md"
  done
  # README.md's real-program table: rewritten by full runs only (a --small run's numbers are
  # not results).
  readme=$ROOT/README.md
  rbegin='<!-- benchmarks/run.sh readme: begin (generated, do not edit by hand) -->'
  rend='<!-- benchmarks/run.sh readme: end -->'
  if [ $RUN_PROGRAMS = 1 ] && [ $SMALL = 0 ] && [ -f "$readme" ] && grep -qF "$rbegin" "$readme"; then
    {
      echo "Last full run of the programs rows: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $commit, \`$CMDLINE\`; load average $LOAD_START at start, $LOAD_END at end (2 shared cores: a load well above 1 inflates herd's times most). Whole-process wall time, median of $RUNS_PROGRAMS runs, outputs checked against native; details in docs/BENCHMARKS.md."
      echo
      echo "| program | native | qemu-user | herd | herd / qemu | goal: herd ≤ 2× qemu |"
      echo "|---|---:|---:|---:|---:|---|"
      for spec in "${PROGRAMS[@]}"; do
        IFS='|' read -r key _ <<<"$spec"
        [ -n "${L[prog-$key]:-}${F[prog-$key,native]:-}" ] || continue
        q=${T[prog-$key,qemu]:-} h=${T[prog-$key,herd]:-}
        goal=$(awk -v h="$h" -v q="$q" 'BEGIN { if (h == "" || q == "" || q <= 0) print "—"; else if (h / q <= 2) print "met"; else print "not met" }')
        echo "| $(prog_what "$key") | $(tcell T "prog-$key" native fmt_s) | $(tcell T "prog-$key" qemu fmt_s) | $(tcell T "prog-$key" herd fmt_s) | $(ratio "$h" "$q") | $goal |"
      done
    } >"$TMP/readme-block.md"
    awk -v b="$rbegin" -v e="$rend" -v f="$TMP/readme-block.md" '
      $0 == b { print; while ((getline line < f) > 0) print line; skip = 1; next }
      $0 == e { skip = 0 }
      !skip { print }' "$readme" >"$TMP/readme.md" && cp "$TMP/readme.md" "$readme"
    echo "Wrote the real-program table of README.md"
  fi
fi
