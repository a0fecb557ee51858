#!/usr/bin/env bash
# Set-up command 2: installs what is missing (scripts/setup.sh), then builds everything and runs
# the whole test suite: every module's unit tests and the differential tests of stress-tests/
# (C guests and busybox applets natively vs under bin/herd, in parallel and serial mode).
# Extra arguments go to Maven, e.g. scripts/test.sh -pl stress-tests -am.
set -euo pipefail
ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

# shellcheck source=setup.sh
. scripts/setup.sh
# Maven's own libraries use sun.misc.Unsafe; keep JDK 24+ from warning about it on every build.
if [ "$(herd_java_major "$JAVA_HOME")" -ge 23 ]; then export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"; fi
exec mvn -B -ntp -Dstyle.color=never install "$@"
