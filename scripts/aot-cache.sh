#!/usr/bin/env bash
# Makes runtime/target/herd.aot, the JVM ahead-of-time cache bin/herd starts with (JDK 25+;
# JEP 483/514/515). Run by the build (runtime/pom.xml, phase package, after the jars are in place);
# safe to run by hand. A training run of `bin/herd run PROGRAM` (default /bin/true) records what
# start-up loads, links and profiles into a temporary file next to the cache, which is then
# renamed over it: a run that maps the old cache keeps it, none ever maps a half-written one.
# Never fails the build: without a cache bin/herd only starts slower, so any problem is a warning.
#
#   scripts/aot-cache.sh [PROGRAM [ARGS...]]
set -uo pipefail
ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
target=$ROOT/runtime/target
out=$target/herd.aot
warn() { echo "aot-cache: $*; bin/herd will start without an AOT cache" >&2; exit 0; }

# shellcheck source=jdk.sh
. "$ROOT/scripts/jdk.sh"
java_home=$(herd_find_java_home 22) || warn "no Java >= 22 found"
major=$(herd_java_major "$java_home") || warn "cannot tell the Java version of $java_home"
if [ "$major" -lt 25 ]; then
  rm -f "$out"
  echo "aot-cache: Java $major has no -XX:AOTCacheOutput (JDK 25+); skipped" >&2
  exit 0
fi
[ $# -gt 0 ] || set -- /bin/true
[ -x "$1" ] || warn "training program $1 not found"

tmp=$(mktemp "$target/herd.aot.tmp.XXXXXX") || warn "cannot create a file in $target"
scratch=$(mktemp -d "${TMPDIR:-/tmp}/herd-aot.XXXXXX") || { rm -f "$tmp"; warn "no temporary directory"; }
trap 'rm -rf "$tmp" "$tmp.config" "$scratch"' EXIT
rm -f "$tmp"   # the JVM writes it (and FILE.config) itself
# A private cache directory: the training run then takes the paths a first run takes (the
# libunicorn probes and the atomic self-test included) and leaves the user's cache alone. Fd 3 is
# open as many real starts have an fd to pass on (a test harness's, a jobserver's, a shell's
# `3<file`): bin/herd then passes --inherit-fds, whose parsing and fd set-up the cache keeps too
# (without it they cost 4-13 ms of such a start: their lambdas were spun at run time).
if ! (cd "$scratch" && XDG_CACHE_HOME=$scratch/cache HERD_AOT_OUTPUT=$tmp "$ROOT/bin/herd" run "$@" 3</dev/null \
        </dev/null >"$scratch/log" 2>&1); then
  tail -n 20 "$scratch/log" >&2
  warn "the training run failed"
fi
[ -s "$tmp" ] || { tail -n 20 "$scratch/log" >&2; warn "the training run wrote no cache"; }
mv -f "$tmp" "$out" || warn "cannot rename $tmp to $out"
echo "aot-cache: wrote $out ($(( $(stat -c %s "$out") / 1024 / 1024 )) MiB, trained on: $*)" >&2
