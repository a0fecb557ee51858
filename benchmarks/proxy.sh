#!/usr/bin/env bash
# benchmarks/proxy.sh — latency of a host call through the kernel proxy.
#
#   benchmarks/proxy.sh [--no-build] [--no-doc] [HOT_CALLS [COLD_CALLS]]
#
# getppid and a 64-byte socket echo round trip (four calls) through the proxy's shared-memory
# cells, in-process (FFM downcall) and over a Unix socketpair to a server process (the seed
# design's transport, benchmarks/proxy/socketpair_server.c); hot (back to back) and cold (after a
# 2 ms pause, both sides parked) medians and p99 (dev.herd.bench.ProxyLatency). Then the floor
# under any such transport on this machine: the same getppid between two C processes over futex
# words (benchmarks/proxy/futex_floor.c). Writes its table into docs/BENCHMARKS.md between the
# "benchmarks/proxy.sh" markers.
set -uo pipefail
ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
CMDLINE="benchmarks/proxy.sh${*:+ $*}"
BUILD=1 WRITE_DOC=1 ARGS=()
for a in "$@"; do
  case $a in
    --no-build) BUILD=0 ;;
    --no-doc) WRITE_DOC=0 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) ARGS+=("$a") ;;
  esac
done
. "$ROOT/scripts/jdk.sh"
if ! JAVA_HOME=$(HERD_NEED_JAVAC=1 herd_find_java_home 22); then
  echo "proxy.sh: no JDK >= 22 found; run scripts/setup.sh" >&2; exit 1
fi
export JAVA_HOME
if [ $BUILD = 1 ]; then
  mvn -B -q -ntp -o -DskipTests package -pl benchmarks/jmh -am >&2 || { echo "proxy.sh: build failed" >&2; exit 1; }
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/herd-proxy-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
gcc -O2 -o "$TMP/socketpair_server" benchmarks/proxy/socketpair_server.c || exit 1
gcc -O2 -o "$TMP/futex_floor" benchmarks/proxy/futex_floor.c || exit 1
cp=$ROOT/benchmarks/jmh/target/classes:$("$ROOT/bin/herd" classpath) || exit 1
JVM_ARGS=(--enable-native-access=ALL-UNNAMED --add-exports java.base/jdk.internal.misc=ALL-UNNAMED -XX:-UsePerfData)
[ "$(herd_java_major "$JAVA_HOME")" -ge 23 ] && JVM_ARGS+=(--sun-misc-unsafe-memory-access=allow)
{
  echo "Command: \`$CMDLINE\` (from the repository root)"
  echo
  echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
  echo "- Machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), Linux $(uname -r)"
  echo "- Load average (1/5/15 min) at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  "$JAVA_HOME/bin/java" "${JVM_ARGS[@]}" -cp "$cp" dev.herd.bench.ProxyLatency "$TMP/socketpair_server" "${ARGS[@]}" || exit 1
  "$TMP/futex_floor" "${ARGS[@]}" || exit 1
  echo "- Load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$TMP/section.md"
cat "$TMP/section.md"
if [ $WRITE_DOC = 1 ]; then
  . "$ROOT/benchmarks/doc-section.sh"
  write_doc_section benchmarks/proxy.sh "Latest results: kernel proxy" "$TMP/section.md"
fi
