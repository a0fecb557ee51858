#!/usr/bin/env bash
# Fuzz campaigns against bin/herd (issue 9, robustness). Not part of scripts/test.sh, which runs a
# short ELF campaign as the JUnit test ElfFuzzTest.
#
#   scripts/fuzz.sh [N] [options]        N mutated ELF files (default 2000; 0 = none), each run
#                                        natively and under bin/herd run, outcomes compared
#   options:
#     --seed S          campaign seed (default 1); case I of seed S is always the same mutant
#     --case I          run case I alone, keep its directory, print both runs in full (reproduce)
#     --start I         first case index (default 0)
#     --jobs P          cases at a time (default 2)
#     --mode M          herd --mode parallel|serial (default parallel)
#     --seeds A,B,...   seed ELF files (default: guests hello, hello-static-pie, /usr/bin/true)
#     --work DIR        where case directories and report.tsv go (default: a new /tmp/herd-elf-fuzz-*)
#     --keep            keep every case directory
#     --syscalls SEEDS  also run the syscall fuzzer: scripts/fuzz-syscalls.sh SEEDS (when present)
#     --no-build        do not build even if the compiled fuzzer looks stale
#
# Builds first when needed (mvn -DskipTests package: the runtime, the guests and the fuzzer, which
# lives in stress-tests/src/test/java/dev/herd/stresstests/fuzz). Exit status 0 when no case was
# bad, 1 otherwise. Each bad case is printed with a one-line reproduce command.
set -euo pipefail
ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=jdk.sh
. scripts/jdk.sh

n=2000 syscall_seeds="" build=auto
elf_args=()
while [ $# -gt 0 ]; do
  case $1 in
    --syscalls) syscall_seeds=${2:?--syscalls needs SEEDS}; shift 2 ;;
    --no-build) build=no; shift ;;
    --keep) elf_args+=(--keep); shift ;;
    --seed|--case|--start|--jobs|--mode|--seeds|--work|--herd-timeout|--native-timeout)
      elf_args+=("$1" "${2:?$1 needs a value}"); shift 2 ;;
    [0-9]*) n=$1; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "fuzz.sh: unknown argument $1 (see scripts/fuzz.sh --help)" >&2; exit 2 ;;
  esac
done

if ! java_home=$(HERD_NEED_JAVAC=1 herd_find_java_home 25); then
  echo "fuzz.sh: no JDK >= 25 found (JAVA_HOME=${JAVA_HOME:-unset}); run scripts/setup.sh" >&2
  exit 1
fi
export JAVA_HOME=$java_home

classes=$ROOT/stress-tests/target/test-classes
marker=$classes/dev/herd/stresstests/fuzz/ElfFuzzer.class
stale() {
  [ -f "$marker" ] && [ -x stress-tests/target/guests/exec_raw ] && ls runtime/target/herd-runtime-*.jar >/dev/null 2>&1 || return 0
  [ -n "$(find runtime/src stress-tests/src -newer "$marker" -type f -print -quit)" ]
}
if [ "$build" = auto ] && stale; then
  echo "fuzz.sh: building (mvn -DskipTests package, log: target/fuzz-build.log) ..."
  mkdir -p target
  if [ "$(herd_java_major "$JAVA_HOME")" -ge 23 ]; then export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"; fi
  if ! mvn -B -ntp -Dstyle.color=never -DskipTests package >target/fuzz-build.log 2>&1; then
    grep -E '^\[(ERROR|WARNING)\]' target/fuzz-build.log | head -n 40 >&2
    echo "fuzz.sh: the build failed; full log in target/fuzz-build.log" >&2
    exit 1
  fi
fi

status=0
is_single=0
for a in "${elf_args[@]}"; do [ "$a" = --case ] && is_single=1; done
if [ "$n" -gt 0 ] || [ "$is_single" = 1 ]; then
  "$JAVA_HOME/bin/java" -cp "$classes" dev.herd.stresstests.fuzz.ElfFuzzer --root "$ROOT" --count "$n" \
    "${elf_args[@]}" || status=$?
fi

if [ -n "$syscall_seeds" ]; then
  # The syscall fuzzer is a separate script (same conventions: bounded, reproducible by seed).
  if [ -x scripts/fuzz-syscalls.sh ]; then
    scripts/fuzz-syscalls.sh "$syscall_seeds" || status=$?
  else
    echo "fuzz.sh: --syscalls: scripts/fuzz-syscalls.sh does not exist yet" >&2
    status=2
  fi
fi
exit "$status"
