#!/usr/bin/env bash
# CPython's regression suite as a differential suite (issue 8): runs `python3.11 -m test -v MODULE`
# natively and under bin/herd (parallel and serial mode), compares every test case's verdict and
# writes docs/FIDELITY.md. Not part of scripts/test.sh (hours under herd); its fast subset is
# (`--quick`, run by stress-tests' CPythonSubsetTest).
#
#   scripts/fidelity.sh                      the default module list (fidelity.py), both modes
#   scripts/fidelity.sh test_json test_re    chosen modules
#   scripts/fidelity.sh --quick --no-write   the fast subset, report on stdout
#   options: --modes parallel|serial|parallel,serial  --timeout SECONDS (per module run under herd)
#
# Installs what is missing (scripts/setup.sh, which includes libpython3.11-testsuite) and builds
# Herd if bin/herd has nothing to run. Exit status 0 when every case that passes natively passes
# under herd.
set -euo pipefail
ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=setup.sh
. scripts/setup.sh >/dev/null
if ! ls runtime/target/herd-runtime-*.jar >/dev/null 2>&1; then
  if [ "$(herd_java_major "$JAVA_HOME")" -ge 23 ]; then export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"; fi
  mvn -B -q -ntp -DskipTests install >&2
fi
exec /usr/bin/python3 scripts/fidelity.py "$@"
