#!/usr/bin/env bash
# JMH micro-benchmarks of Herd's hot paths (benchmarks/jmh): builds the module and runs JMH with
# short defaults, prints JMH's table and rewrites the "JMH" results section of docs/BENCHMARKS.md
# (between the "benchmarks/jmh.sh" markers) with the exact command, the date and the load average.
#
#   benchmarks/jmh.sh [--no-build] [--no-doc] [REGEX] [-- JMH-OPTIONS...]
#
#   REGEX        which benchmarks (JMH's include regex), default all: e.g. EngineBench,
#                'SyscallBench.hook', 'Futex|SafePoint'
#   --no-build   skip the Maven build (use what benchmarks/jmh/target holds)
#   --no-doc     print only, leave docs/BENCHMARKS.md alone
#   JMH-OPTIONS  replace the defaults they name, e.g. -- -f 3 -i 10 -r 2s
#
# Defaults: -f 1 -wi 2 -w 1s -i 3 -r 1s -bm avgt -tu ns (one fork, ~5 s per benchmark, ~3 min
# for all); an option given after -- replaces its default. The forked JVM gets
# --enable-native-access=ALL-UNNAMED (FFM and JNA). The class path is the runtime's
# (bin/herd classpath) plus JMH's jars, so the benchmarks run against the runtime this tree built.
# Prerequisites: scripts/setup.sh (libunicorn, a JDK >= 22, maven). A benchmark, not a test.
set -uo pipefail

ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
CMDLINE="benchmarks/jmh.sh${*:+ $*}"
BUILD=1 WRITE_DOC=1 REGEX="" EXTRA=()
while [ $# -gt 0 ]; do
  case $1 in
    --no-build) BUILD=0; shift ;;
    --no-doc) WRITE_DOC=0; shift ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --) shift; EXTRA=("$@"); break ;;
    -*) echo "jmh.sh: unknown option $1 (JMH options go after --)" >&2; exit 2 ;;
    *) REGEX=$1; shift ;;
  esac
done

. "$ROOT/scripts/jdk.sh"
if ! JAVA_HOME=$(HERD_NEED_JAVAC=1 herd_find_java_home 22); then
  echo "jmh.sh: no JDK >= 22 found; run scripts/setup.sh" >&2; exit 1
fi
export JAVA_HOME
if [ $BUILD = 1 ]; then
  echo "jmh.sh: building benchmarks/jmh and the modules it needs (mvn -o package -pl benchmarks/jmh -am)" >&2
  if ! mvn -B -q -ntp -o -DskipTests package -pl benchmarks/jmh -am >&2; then
    echo "jmh.sh: build failed (offline; if JMH is missing from ~/.m2 run once without -o: mvn -DskipTests package -pl benchmarks/jmh -am)" >&2
    exit 1
  fi
fi
CLASSES=$ROOT/benchmarks/jmh/target/classes
if [ ! -f "$CLASSES/META-INF/BenchmarkList" ]; then echo "jmh.sh: benchmarks/jmh not built" >&2; exit 1; fi
cp=$CLASSES:$("$ROOT/bin/herd" classpath) || exit 1
for f in "$ROOT"/benchmarks/jmh/target/lib/*.jar; do
  case $(basename "$f") in herd-*) ;; *) cp=$cp:$f ;; esac    # JMH and its dependencies
done

JVM_ARGS="--enable-native-access=ALL-UNNAMED --add-exports java.base/jdk.internal.misc=ALL-UNNAMED -XX:-UsePerfData"
[ "$(herd_java_major "$JAVA_HOME")" -ge 23 ] && JVM_ARGS+=" --sun-misc-unsafe-memory-access=allow"
loadavg() { cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?"; }
LOAD_START=$(loadavg)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/herd-jmh.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
# Short defaults; an option given after -- replaces its default (JMH refuses repeated options).
DEFAULTS=()
for pair in "-f 1" "-wi 2" "-w 1s" "-i 3" "-r 1s" "-bm avgt" "-tu ns"; do
  [[ " ${EXTRA[*]:-} " == *" ${pair%% *} "* ]] || DEFAULTS+=($pair)
done
# shellcheck disable=SC2086
"$JAVA_HOME/bin/java" $JVM_ARGS -cp "$cp" org.openjdk.jmh.Main "${DEFAULTS[@]}" -jvmArgsAppend "$JVM_ARGS" \
    -rf csv -rff "$TMP/result.csv" "${EXTRA[@]}" ${REGEX:+"$REGEX"}
st=$?
LOAD_END=$(loadavg)
if [ $st -ne 0 ] || [ ! -s "$TMP/result.csv" ]; then echo "jmh.sh: JMH failed (status $st)" >&2; exit 1; fi

section() {
  local commit java_desc
  commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "?")
  [ -n "$(git -C "$ROOT" status --porcelain -- . ':!docs' 2>/dev/null)" ] && commit+=" (with uncommitted changes)"
  java_desc=$(sed -n 's/^JAVA_RUNTIME_VERSION="\(.*\)"/\1/p' "$JAVA_HOME/release" | head -n 1)
  echo "Command: \`$CMDLINE\` (from the repository root)"
  echo
  echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit $commit"
  echo "- Machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), Linux $(uname -r); Java ${java_desc:-?}"
  echo "- JMH settings: ${DEFAULTS[*]}${EXTRA[*]:+ ${EXTRA[*]}}; average time per operation, ± the 99.9% confidence half-width JMH reports (NaN with fewer than 2 iterations)"
  echo "- Load average (1/5/15 min) at start: $LOAD_START, at end: $LOAD_END. Other work on the machine (2 cores, shared) inflates times, the two-thread benchmarks (FutexBench.pingPongRoundTrip, SafePointBench round trips) most."
  if awk -v a="${LOAD_START%% *}" -v b="${LOAD_END%% *}" -v c="$(nproc)" 'BEGIN { exit !(a >= c || b >= c) }'; then
    echo "- **Loaded machine (1-min load ≥ the core count): read these numbers as a smoke test, not as results.**"
  fi
  echo
  echo "| benchmark | ns per op | ± (99.9%) | samples |"
  echo "|---|---:|---:|---:|"
  # "Benchmark","Mode","Threads","Samples","Score","Score Error (99.9%)","Unit"
  awk -F, 'NR > 1 { gsub(/"/, ""); b = $1; sub(/^dev\.herd\.bench\./, "", b);
                    printf "| `%s` | %s | %s | %s |\n", b, fmt($5), fmt($6), $4 }
           function fmt(v) { if (v == "NaN") return "—"; if (v + 0 >= 100) return sprintf("%.0f", v); if (v + 0 >= 10) return sprintf("%.1f", v); return sprintf("%.2f", v) }' "$TMP/result.csv"
}
section >"$TMP/section.md"
echo; cat "$TMP/section.md"
if [ $WRITE_DOC = 1 ]; then
  doc=$ROOT/docs/BENCHMARKS.md
  begin='<!-- benchmarks/jmh.sh: begin (generated, do not edit by hand) -->'
  end='<!-- benchmarks/jmh.sh: end -->'
  if ! grep -qF "$begin" "$doc"; then
    { cat "$doc"; echo; echo "## Latest results: JMH"; echo; echo "$begin"; echo "$end"; } >"$TMP/doc.md" && cp "$TMP/doc.md" "$doc"
  fi
  awk -v b="$begin" -v e="$end" -v f="$TMP/section.md" '
    $0 == b { print; while ((getline line < f) > 0) print line; skip = 1; next }
    $0 == e { skip = 0 }
    !skip { print }' "$doc" >"$TMP/doc.md" && cp "$TMP/doc.md" "$doc"
  echo; echo "Wrote the JMH results section of docs/BENCHMARKS.md"
fi
