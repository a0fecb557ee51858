#!/usr/bin/env bash
# Syscall fuzzing campaign (issue 9): runs the sysfuzz guest for each seed natively and under
# bin/herd in both modes and compares every call's result (docs/SECURITY.md, "Syscall fuzzing").
#
#   scripts/fuzz-syscalls.sh [SEEDS] [-- SysFuzz options]
#     SEEDS  "1-20" (default), "7", or "1,5,9"
#   e.g. scripts/fuzz-syscalls.sh 1-100 -- --rounds 8 --modes parallel
#
# Needs a built tree (JAVA_HOME=<jdk> mvn -DskipTests package). Exits 0 when no run was bad (no hang,
# crash, internal error, Java stack trace, or EFAULT difference), 1 otherwise. As root, the guest
# runs as nobody (setpriv). Logs: the report on stdout; also kept in target/fuzz-syscalls.log.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/jdk.sh
source "$ROOT/scripts/jdk.sh"
SEEDS="${1:-1-20}"
[ $# -gt 0 ] && shift
[ "${1:-}" = "--" ] && shift
# the source launcher compiles SysFuzz.java: a JDK >= 22 with javac
JAVA_HOME="$(HERD_NEED_JAVAC=1 herd_find_java_home 22)" || { echo "fuzz-syscalls: no JDK >= 22 found (scripts/setup.sh)" >&2; exit 2; }
export JAVA_HOME
[ -x "$ROOT/stress-tests/target/guests/sysfuzz" ] || { echo "fuzz-syscalls: build first: JAVA_HOME=<jdk> mvn -DskipTests package" >&2; exit 2; }
mkdir -p "$ROOT/target"
"$JAVA_HOME/bin/java" "$ROOT/stress-tests/src/test/java/dev/herd/stresstests/SysFuzz.java" --root "$ROOT" --seeds "$SEEDS" "$@" \
    | tee "$ROOT/target/fuzz-syscalls.log"
exit "${PIPESTATUS[0]}"
