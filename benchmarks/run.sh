#!/usr/bin/env bash
# Guest workload benchmark: each workload natively, under qemu-x86_64-static and under bin/herd,
# in one run; prints a table of medians and ratios and rewrites the results section of
# docs/BENCHMARKS.md (between the "benchmarks/run.sh" markers) with the exact command, the date
# and the machine. A benchmark, not a test: it is never run by the build or the test suite.
#
#   benchmarks/run.sh [--runs N] [--timeout SEC] [--no-doc] [WORKLOAD...]
#
#   WORKLOAD   noop getppid xorshift sieve (default: all)
#   --runs N   timed runs per cell, median reported (default 5; one untimed check run before)
#   --no-doc   print only, leave docs/BENCHMARKS.md alone
#
# Uses hyperfine when it is installed, else its own loop around date +%s%N. A runner that fails
# (not installed, non-zero exit, wrong output, timeout) shows "failed" in its cell; the rest go on.
# Prerequisites: scripts/setup.sh, and for the herd column a build (JAVA_HOME=<jdk> mvn -DskipTests package).
set -uo pipefail

ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
CMDLINE="benchmarks/run.sh${*:+ $*}"
RUNS=5
TIMEOUT=600
WRITE_DOC=1
SELECTED=()
while [ $# -gt 0 ]; do
  case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    --no-doc) WRITE_DOC=0; shift ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) SELECTED+=("$1"); shift ;;
  esac
done

# name | arguments | iterations N (the argument; also run with N/10 for the per-iteration column) | what
WORKLOADS=(
  "noop||1|start-up and exit"
  "getppid|1000000|1000000|syscall round trip: getppid loop"
  "xorshift|300000000|300000000|register-only loop: xorshift64"
  "sieve|20000000|20000000|store-heavy: sieve of Eratosthenes to 20M (byte array)"
)
RUNNERS=(native qemu herd)

WL_DIR=$ROOT/benchmarks/target/workloads
if ! make -s -C "$ROOT/benchmarks/src/main/c" OUT="$WL_DIR" >/dev/null; then
  echo "run.sh: could not build the workloads (gcc and make needed: scripts/setup.sh)" >&2
  exit 1
fi

HYPERFINE=$(command -v hyperfine || true)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
TMP=$(mktemp -d "${TMPDIR:-/tmp}/herd-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

runner_cmd() {   # runner workload-path args... -> prints nothing, sets CMD array
  local runner=$1; shift
  case $runner in
    native) CMD=("$@") ;;
    qemu) CMD=(qemu-x86_64-static "$@") ;;
    herd) CMD=("$ROOT/bin/herd" run "$@") ;;
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
    if ! "$HYPERFINE" -N --style none --runs "$RUNS" --export-csv "$TMP/hf.csv" -- "$q" >"$TMP/hf.log" 2>&1; then
      FAIL="hyperfine: $(tail -n 1 "$TMP/hf.log")"; return
    fi
    RESULT=$(awk -F, 'NR == 2 { print $4 }' "$TMP/hf.csv")   # command,mean,stddev,median,...
  else
    local i t0 t1
    : >"$TMP/times"
    for ((i = 0; i < RUNS; i++)); do
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

declare -A T F
NOTES=()
# One cell: KEY RUNNER NAME ARGS; native runs first and its stdout becomes the expected output.
cell() {
  local key=$1 runner=$2 name=$3 args=$4 expected=""
  [ "$runner" != native ] && [ -f "$TMP/expected-$key" ] && expected=$TMP/expected-$key
  printf '  %-18s %-7s ... ' "$name${args:+ $args}" "$runner" >&2
  measure "$runner" "$name" "$args" "$expected"
  if [ -n "$FAIL" ]; then
    F[$key,$runner]=$FAIL
    echo "failed ($FAIL)" >&2
    NOTES+=("$runner on $name${args:+ $args} failed: $FAIL")
  else
    T[$key,$runner]=$RESULT
    fmt_s "$RESULT" >&2; echo >&2
    [ "$runner" = native ] && cp "$TMP/out" "$TMP/expected-$key"
  fi
}
for spec in "${WORKLOADS[@]}"; do
  IFS='|' read -r name args iters what <<<"$spec"
  if [ ${#SELECTED[@]} -gt 0 ] && [[ " ${SELECTED[*]} " != *" $name "* ]] && [ "$name" != noop ]; then continue; fi
  for runner in "${RUNNERS[@]}"; do
    cell "$name" "$runner" "$name" "$args"
    # The same workload at a tenth of the size: the difference is the cost of 90% of the
    # iterations with start-up and fixed costs cancelled (the per-iteration column).
    if [ "$iters" -gt 1 ]; then cell "$name@small" "$runner" "$name" "$((iters / 10))"; fi
  done
done

table() {
  echo "| workload | native | qemu-x86_64 | herd | qemu / native | herd / native | herd / qemu | per iteration: (t(N) − t(N/10)) / 0.9 N (native / qemu / herd) |"
  echo "|---|---:|---:|---:|---:|---:|---:|---|"
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
    echo "| \`$name${args:+ $args}\` — $what |$cells $(ratio "$q" "$n") | $(ratio "$h" "$n") | $(ratio "$h" "$q") | $(per_iter "$n" "${T[$name@small,native]:-}" "$iters") / $(per_iter "$q" "${T[$name@small,qemu]:-}" "$iters") / $(per_iter "$h" "${T[$name@small,herd]:-}" "$iters") |"
  done
}

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
java_desc=$(. "$ROOT/scripts/jdk.sh"; h=$(herd_find_java_home 22) && sed -n 's/^JAVA_RUNTIME_VERSION="\(.*\)"/\1/p' "$h/release" | head -n 1 || echo "none")
qemu_desc=$(qemu-x86_64-static --version 2>/dev/null | head -n 1 || echo "not installed")
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "?")
if [ -n "$(git -C "$ROOT" status --porcelain -- . ':!docs/BENCHMARKS.md' 2>/dev/null)" ]; then commit+=" (with uncommitted changes)"; fi
timer=$([ -n "$HYPERFINE" ] && echo "hyperfine, median of $RUNS runs" || echo "median of $RUNS runs (date +%s%N)")

{
  echo "Command: \`$CMDLINE\` (from the repository root)"
  echo
  echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit $commit"
  echo "- Machine: $(nproc) cores, ${cpu:-unknown CPU}, Linux $(uname -r)"
  echo "- Java: ${java_desc:-none}; qemu: $qemu_desc; timing: $timer, each after one untimed check run"
  echo "- Load average (1/5/15 min) at start: $LOAD_START, at end: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?") — other work on the machine inflates times"
  echo "- Times are wall-clock for the whole process, start-up included (see the noop row)."
  echo
  table
  if [ ${#NOTES[@]} -gt 0 ]; then
    echo
    echo "Failures:"
    for n in "${NOTES[@]}"; do echo "- $n"; done
  fi
} >"$TMP/section.md"

echo
cat "$TMP/section.md"

if [ "$WRITE_DOC" = 1 ]; then
  doc=$ROOT/docs/BENCHMARKS.md
  begin='<!-- benchmarks/run.sh: begin (generated, do not edit by hand) -->'
  end='<!-- benchmarks/run.sh: end -->'
  if [ ! -f "$doc" ] || ! grep -qF "$begin" "$doc"; then
    { [ -f "$doc" ] && cat "$doc"; echo; echo "## Latest results"; echo; echo "$begin"; echo "$end"; } >"$TMP/doc.md"
    cp "$TMP/doc.md" "$doc"
  fi
  awk -v b="$begin" -v e="$end" -v f="$TMP/section.md" '
    $0 == b { print; while ((getline line < f) > 0) print line; skip = 1; next }
    $0 == e { skip = 0 }
    !skip { print }' "$doc" >"$TMP/doc.md" && cp "$TMP/doc.md" "$doc"
  echo
  echo "Wrote the results section of docs/BENCHMARKS.md"
fi
