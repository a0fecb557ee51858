#!/usr/bin/env bash
# Real arm64 programs under herd next to qemu-aarch64-static, the reference for aarch64 guests:
# Debian's arm64 coreutils, gzip, python3.11 and perl from the root file system that
# scripts/arm64-rootfs.sh assembles, on the same inputs as benchmarks/run.sh's program rows
# (generated the same way, placed inside the rootfs so that both runners read the same files).
# Every run's stdout must equal qemu's; a row that differs is reported as failed, not timed.
# Writes its table into docs/BENCHMARKS.md between the "benchmarks/arm64.sh" markers.
#
#   benchmarks/arm64.sh [--runs N] [--no-doc]     (default 3 timed runs, medians)
set -uo pipefail

ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
CMDLINE="benchmarks/arm64.sh${*:+ $*}"
RUNS=3 WRITE_DOC=1
while [ $# -gt 0 ]; do
  case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --no-doc) WRITE_DOC=0; shift ;;
    *) echo "arm64.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
command -v qemu-aarch64-static >/dev/null || { echo "arm64.sh: qemu-aarch64-static missing (scripts/setup.sh)" >&2; exit 1; }
R=$("$ROOT/scripts/arm64-rootfs.sh") || exit 1
DATA=$R/tmp/herd-bench
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$DATA"
NUM_LINES=330000 BIG_BYTES=20000000 PY_ITERS=3000000
if [ ! -f "$DATA/done" ]; then
  awk -v n="$NUM_LINES" 'BEGIN { x = 20261203; for (i = 0; i < n; i++) { x = (x * 16807) % 2147483647; print x % 10000000 } }' >"$DATA/numbers.txt"
  sz=$(stat -c %s "$DATA/numbers.txt")
  { for ((i = 0; i <= BIG_BYTES / sz; i++)); do cat "$DATA/numbers.txt"; done; } | head -c "$BIG_BYTES" >"$DATA/big.txt"
  touch "$DATA/done"
fi

PERL_SCRIPT='my $n = 0; while (<>) { $n++ if /^(\d)\d*\1$/ || /(\d\d)\d*\1/ } print "$n\n";'
PY_SCRIPT="x = 0
for i in range($PY_ITERS):
    x = (x * 31 + i) % 1000003
print(x)"
ROWS=(sort sha256sum gzip python3 perl true)
argv() {
  case $1 in
    sort) A=(/usr/bin/sort -n numbers.txt); W="\`sort -n\` of $(awk -v b="$(stat -c %s "$DATA/numbers.txt")" 'BEGIN { printf "%.1f MB", b / 1e6 }') of numbers" ;;
    sha256sum) A=(/usr/bin/sha256sum big.txt); W="\`sha256sum\` of 20 MB" ;;
    gzip) A=(/bin/gzip -6 -n -c big.txt); W="\`gzip -6 -n -c\` of 20 MB (output bytes compared)" ;;
    python3) A=(/usr/bin/python3.11 -c "$PY_SCRIPT"); W="\`python3.11 -c\` loop of $PY_ITERS multiply-adds" ;;
    perl) A=(/usr/bin/perl -e "$PERL_SCRIPT" numbers.txt); W="\`perl\` regex (backreference) over the numbers" ;;
    true) A=(/bin/true); W="\`/bin/true\` (start-up and exit)" ;;
  esac
}
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print ""; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# time_runs RUNNER -> RESULT (median seconds) or FAIL; stdout of every run compared with $TMP/expected
time_runs() {
  local runner=$1 i t0 t1 st
  RESULT="" FAIL=""
  : >"$TMP/walls"
  for ((i = 0; i <= RUNS; i++)); do
    t0=$(date +%s%N)
    if [ "$runner" = qemu ]; then
      (cd "$DATA" && LC_ALL=C timeout 600 qemu-aarch64-static -L "$R" "$R${A[0]}" "${A[@]:1}" >"$TMP/out" 2>"$TMP/err" </dev/null)
    else
      (cd "$DATA" && LC_ALL=C timeout 600 "$ROOT/bin/herd" run --rootfs "$R" "$R${A[0]}" "${A[@]:1}" >"$TMP/out" 2>"$TMP/err" </dev/null)
    fi
    st=$?
    t1=$(date +%s%N)
    if [ $st -ne 0 ]; then FAIL="exit $st: $(head -n 1 "$TMP/err")"; return; fi
    if [ "$runner" = qemu ] && [ $i -eq 0 ]; then cp "$TMP/out" "$TMP/expected"; fi
    if ! cmp -s "$TMP/out" "$TMP/expected"; then FAIL="output differs from qemu's"; return; fi
    [ $i -eq 0 ] && continue
    echo "$(( t1 - t0 ))" | awk '{ printf "%.6f\n", $1 / 1e9 }' >>"$TMP/walls"
  done
  RESULT=$(median <"$TMP/walls")
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
{
  echo "Command: \`$CMDLINE\` (from the repository root)"
  echo
  echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)"
  echo "- Machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), Linux $(uname -r); $(qemu-aarch64-static --version | head -n 1)"
  echo "- Programs: Debian bookworm arm64 packages in \`$R\` (scripts/arm64-rootfs.sh), run as \`qemu-aarch64-static -L ROOTFS\` and \`bin/herd run --rootfs ROOTFS\` (parallel mode); median of $RUNS timed runs after one untimed check run; wall-clock for the whole process, start-up included"
  echo "- Load average (1/5/15 min) at start: $LOAD_START"
  echo
  echo "| program (arm64) | qemu-aarch64 | herd | herd / qemu | goal: herd ≤ 2× qemu |"
  echo "|---|---:|---:|---:|---|"
} >"$TMP/section.md"
for key in "${ROWS[@]}"; do
  argv "$key"
  printf '  %-10s qemu ... ' "$key" >&2
  time_runs qemu
  q=$RESULT qf=$FAIL
  echo "${q:-failed ($qf)}" >&2
  printf '  %-10s herd ... ' "$key" >&2
  if [ -n "$qf" ]; then RESULT="" FAIL="qemu failed"; else time_runs herd; fi
  h=$RESULT hf=$FAIL
  echo "${h:-failed ($hf)}" >&2
  cell() { [ -n "$1" ] && awk -v v="$1" 'BEGIN { printf "%.3f s", v }' || echo "failed: $2"; }
  ratio=$(awk -v h="$h" -v q="$q" 'BEGIN { if (h == "" || q == "" || q <= 0) print "—"; else printf "%.2f×", h / q }')
  goal=$(awk -v h="$h" -v q="$q" 'BEGIN { if (h == "" || q == "" || q <= 0) print "—"; else if (h / q <= 2) print "met"; else printf "**not met** (%.1f×)", h / q }')
  echo "| $W | $(cell "$q" "$qf") | $(cell "$h" "$hf") | $ratio | $goal |" >>"$TMP/section.md"
done
echo "- Load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$TMP/section.md"
cat "$TMP/section.md"
if [ $WRITE_DOC = 1 ]; then
  . "$ROOT/benchmarks/doc-section.sh"
  write_doc_section benchmarks/arm64.sh "Latest results: arm64 programs (aarch64 guests)" "$TMP/section.md"
fi
