#!/usr/bin/env bash
# Set-up command 1: installs what is missing (scripts/setup.sh), builds Herd without running the
# tests, then runs a small C guest and a busybox applet under bin/herd and natively, showing
# output and exit status of each. Exits 0 if herd matched the native run every time.
set -euo pipefail
ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

# shellcheck source=setup.sh
. scripts/setup.sh
# Maven's own libraries use sun.misc.Unsafe; keep JDK 24+ from warning about it on every build.
if [ "$(herd_java_major "$JAVA_HOME")" -ge 23 ]; then export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"; fi
mkdir -p target
echo "demo: building: mvn -DskipTests install (log: target/demo-build.log) ..."
if ! mvn -B -ntp -Dstyle.color=never -DskipTests install >target/demo-build.log 2>&1; then
  grep -E '^\[(ERROR|WARNING)\]' target/demo-build.log | head -n 40
  echo "demo: the build failed; full log in target/demo-build.log" >&2
  exit 1
fi

G=$ROOT/stress-tests/target/guests
TMP=$(mktemp -d "${TMPDIR:-/tmp}/herd-demo.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
printf 'banana\napple\ncherry\napple\n' >"$TMP/fruit.txt"

matched=0 total=0
quote() {   # shell-quote arguments for display
  local a out=""
  for a in "$@"; do
    if [[ $a =~ ^[A-Za-z0-9_./=:,+@%-]+$ ]]; then out+="$a "; else out+="'${a//\'/\'\\\'\'}' "; fi
  done
  printf '%s' "${out% }"
}
# The reference each command is compared with: the host itself, or (aarch64 programs)
# qemu-aarch64-static on the arm64 rootfs, with herd given the same rootfs.
ORACLE=() HERD_OPTS=() ORACLE_NAME=native
show() {   # show LABEL -- COMMAND...   (stdin from $TMP/fruit.txt)
  local label=$1; shift 2
  local st_h st_n
  total=$((total + 1))
  echo
  echo "== $label"
  echo "\$ bin/herd run $(quote ${HERD_OPTS[@]+"${HERD_OPTS[@]}"} "$@")"
  set +e
  "$ROOT/bin/herd" run ${HERD_OPTS[@]+"${HERD_OPTS[@]}"} "$@" <"$TMP/fruit.txt" >"$TMP/h.out" 2>"$TMP/h.err"; st_h=$?
  ${ORACLE[@]+"${ORACLE[@]}"} "$@" <"$TMP/fruit.txt" >"$TMP/n.out" 2>"$TMP/n.err"; st_n=$?
  set -e
  sed 's/^/  stdout| /' "$TMP/h.out"
  sed 's/^/  stderr| /' "$TMP/h.err"
  echo "  exit status under herd: $st_h ($ORACLE_NAME: $st_n)"
  if [ "$st_h" = "$st_n" ] && cmp -s "$TMP/h.out" "$TMP/n.out" && cmp -s "$TMP/h.err" "$TMP/n.err"; then
    echo "  => same stdout, stderr and status as the $ORACLE_NAME run"
    matched=$((matched + 1))
  else
    echo "  => DIFFERS from the $ORACLE_NAME run:"
    diff -u --label "$ORACLE_NAME" --label herd "$TMP/n.out" "$TMP/h.out" | sed 's/^/     /' || true
    diff -u --label "$ORACLE_NAME-stderr" --label herd-stderr "$TMP/n.err" "$TMP/h.err" | sed 's/^/     /' || true
  fi
}

show "a static C program (stress-tests/src/main/c/hello.c), exit status from argv" -- "$G/hello" 3 from herd
show "a static-PIE build of the same program" -- "$G/hello-static-pie" 0 pie
show "Debian's static busybox: sort (stdin: four fruit names)" -- /usr/bin/busybox sort
show "busybox sha256sum of stdin" -- /usr/bin/busybox sha256sum
show "busybox awk with floating point" -- /usr/bin/busybox awk 'BEGIN { printf "%.6f %e\n", 22 / 7, 1e21 / 3 }'
show "a dynamically linked Debian program (coreutils sort, its ld.so and libc)" -- /usr/bin/sort -r
show "perl (dynamic) running a one-liner over stdin" -- /usr/bin/perl -ne 'print length($_) - 1, " $_"'
show "execve: env runs the next program in a child Herd" -- /usr/bin/env -i LANG=C /usr/bin/wc -c

# aarch64 programs from the arm64 Debian rootfs that scripts/setup.sh assembled.
R=$("$ROOT/scripts/arm64-rootfs.sh")
ORACLE=(qemu-aarch64-static -L "$R") HERD_OPTS=(--rootfs "$R") ORACLE_NAME=qemu-aarch64-static
show "aarch64: Debian's arm64 static busybox sort" -- "$R/bin/busybox" sort
show "aarch64: Debian's arm64 python3.11 (dynamic: its ld.so and libraries from the rootfs)" -- \
  "$R/usr/bin/python3.11" -c 'import sys, hashlib; w = sorted(l.strip() for l in sys.stdin); print(w, 2 ** 100, hashlib.sha256(" ".join(w).encode()).hexdigest()[:16])'

echo
echo "demo: herd matched the reference run (native, or qemu-aarch64-static for aarch64) in $matched of $total commands"
[ "$matched" = "$total" ]
