#!/usr/bin/env bash
# Installs what Herd's build, tests, demo and benchmarks need on a Debian machine, skipping what
# is present, and finds a JDK >= 22 for the build. Idempotent; quick when nothing is missing.
#
#   scripts/setup.sh        check/install, then print JAVA_HOME=...
#   . scripts/setup.sh      the same, and export JAVA_HOME into the calling shell
#                           (scripts/demo.sh and scripts/test.sh do this)
#
# Debian packages: libunicorn2 libunicorn-dev (the CPU emulator), libcapstone-dev (decoder),
# gcc make libc6-dev (static C guests), gcc-aarch64-linux-gnu libc6-dev-arm64-cross (aarch64
# guests), busybox-static and qemu-user-static (test oracles), python3.11 and
# libpython3.11-testsuite (CPython's regression suite as an oracle, scripts/fidelity.sh), strace,
# gnuplot-nox (benchmark plots, benchmarks/plot.sh), maven; a JDK >= 22 if none
# is installed; and an arm64 Debian root file system (scripts/arm64-rootfs.sh, which adds the
# arm64 architecture to dpkg). Uses sudo only when not root. `apt-get update` runs only if an
# install fails (or when arm64 is added).

HERD_PACKAGES=(libunicorn2 libunicorn-dev busybox-static qemu-user-static gcc-aarch64-linux-gnu libpython3.11-testsuite python3.11
               libc6-dev-arm64-cross gcc make libc6-dev strace libcapstone-dev gnuplot-nox)

herd_setup() {
  local root here sudo="" missing=() p java_home
  here=$(cd -P "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  root=$(cd "$here/.." && pwd)
  # shellcheck source=jdk.sh
  . "$here/jdk.sh"

  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; fi
  fi

  _herd_apt_install() {   # packages... ; apt-get update only if the first attempt fails
    if [ "$(id -u)" != 0 ] && [ -z "$sudo" ]; then
      echo "setup: need root or sudo to install: $*" >&2
      return 1
    fi
    echo "setup: installing $*" >&2
    if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >&2; then
      echo "setup: install failed; running apt-get update and retrying" >&2
      $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 || return 1
      $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >&2 || return 1
    fi
  }

  if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: this is not a Debian-like system (no dpkg/apt-get); install by hand: ${HERD_PACKAGES[*]} maven, and a JDK >= 22" >&2
    return 1
  fi

  # 1. Debian packages (one dpkg-query for all of them).
  local wanted=("${HERD_PACKAGES[@]}")
  command -v mvn >/dev/null 2>&1 || wanted+=(maven)
  local installed
  installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${wanted[@]}" 2>/dev/null | awk '$NF == "installed" { print $1 }' || true)
  for p in "${wanted[@]}"; do
    if ! grep -qx "$p" <<<"$installed"; then missing+=("$p"); fi
  done
  if [ ${#missing[@]} -gt 0 ]; then
    _herd_apt_install "${missing[@]}" || { echo "setup: could not install: ${missing[*]}" >&2; return 1; }
  fi

  # 2. A JDK >= 22 (javac included): JAVA_HOME if it is one, else the newest under /usr/lib/jvm.
  if ! java_home=$(HERD_NEED_JAVAC=1 herd_find_java_home 22); then
    local candidate
    candidate=$(apt-cache search --names-only '^openjdk-[0-9]+-jdk-headless$' 2>/dev/null \
                | sed -n 's/^openjdk-\([0-9]*\)-jdk-headless .*/\1/p' | sort -n | awk '$1 >= 22' | tail -n 1 || true)
    if [ -z "$candidate" ]; then
      $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 || true
      candidate=$(apt-cache search --names-only '^openjdk-[0-9]+-jdk-headless$' 2>/dev/null \
                  | sed -n 's/^openjdk-\([0-9]*\)-jdk-headless .*/\1/p' | sort -n | awk '$1 >= 22' | tail -n 1 || true)
    fi
    if [ -n "$candidate" ]; then
      _herd_apt_install "openjdk-$candidate-jdk-headless" || true
    fi
    if ! java_home=$(HERD_NEED_JAVAC=1 herd_find_java_home 22); then
      echo "setup: no JDK >= 22 found (JAVA_HOME=${JAVA_HOME:-unset}; nothing suitable under /usr/lib/jvm;" \
           "no openjdk >= 22 package available). Herd needs Java 22+ for java.lang.foreign: install one" \
           "(e.g. Temurin 25 under /usr/lib/jvm) or set JAVA_HOME to it, then re-run." >&2
      return 1
    fi
  fi

  # 3. Maven.
  if ! command -v mvn >/dev/null 2>&1; then
    echo "setup: mvn still missing after installing maven" >&2
    return 1
  fi

  # 4. The arm64 root file system of the aarch64 Debian-program tests (Debian arm64 packages,
  #    unpacked; quick when present).
  if ! "$here/arm64-rootfs.sh" >/dev/null; then
    echo "setup: could not assemble the arm64 rootfs (scripts/arm64-rootfs.sh)" >&2
    return 1
  fi

  export JAVA_HOME=$java_home
  echo "setup: ok — ${#wanted[@]} packages checked, ${#missing[@]} installed; JAVA_HOME=$JAVA_HOME (Java $(herd_java_major "$JAVA_HOME")); repo $root" >&2
  unset -f _herd_apt_install
  return 0
}

if [ "${BASH_SOURCE[0]}" != "$0" ]; then
  herd_setup
else
  set -euo pipefail
  herd_setup
  echo "JAVA_HOME=$JAVA_HOME"
fi
