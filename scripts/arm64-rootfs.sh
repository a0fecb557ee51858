#!/usr/bin/env bash
# Assembles an arm64 Debian root file system for aarch64 guests from Debian's own packages:
# coreutils, grep, sed, gzip, perl, python3.11 and busybox-static, with every dependency
# (Depends and Pre-Depends, recursively), unpacked with dpkg-deb (no maintainer scripts run).
# Needs the arm64 architecture in dpkg (added if missing, as root) and the package lists.
#
#   scripts/arm64-rootfs.sh [DIR]     default: ${XDG_CACHE_HOME:-~/.cache}/herd/rootfs-arm64
#
# Prints the directory. Quick when DIR is already complete for this package list (a stamp file
# records it). Used by scripts/setup.sh; the aarch64 Debian-program tests run programs from it
# under herd (--rootfs DIR) and under qemu-aarch64-static -L DIR, the oracle.
set -euo pipefail

PACKAGES=(coreutils grep sed gzip perl python3.11 busybox-static libc-bin)
DIR=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/herd/rootfs-arm64}
STAMP="$DIR/.herd-rootfs"
WANT="packages: ${PACKAGES[*]}"

if [ -f "$STAMP" ] && [ "$(head -n 1 "$STAMP")" = "$WANT" ]; then
  echo "$DIR"
  exit 0
fi

sudo=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then sudo=sudo; fi
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  echo "arm64-rootfs: adding the arm64 architecture to dpkg" >&2
  $sudo dpkg --add-architecture arm64
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
fi
qualified=()
for p in "${PACKAGES[@]}"; do qualified+=("$p:arm64"); done
# apt-cache names an arm64 package as NAME:arm64 (and its native twin as NAME); an
# architecture-independent one only as NAME. So the download list is every NAME:arm64, plus every
# NAME that has no NAME:arm64 beside it.
resolve() {
  apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces \
    --no-enhances "${qualified[@]}" 2>/dev/null | { grep -v -e '^ ' -e '^<' || true; } | sort -u \
    | awk '{ n[NR] = $0; if ($0 ~ /:arm64$/) a[substr($0, 1, length($0) - 6)] = 1 }
           END { for (i = 1; i <= NR; i++) if (n[i] ~ /:arm64$/ || !(n[i] in a)) print n[i] }'
}
list=($(resolve))
if ! printf '%s\n' "${list[@]}" | grep -qx 'coreutils:arm64'; then
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
  list=($(resolve))
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"   # apt's _apt user writes the downloads
echo "arm64-rootfs: downloading ${#list[@]} packages into $DIR" >&2
(cd "$work" && apt-get download -q -o APT::Sandbox::User=root "${list[@]}" >&2)

rm -rf "$DIR.new"
mkdir -p "$DIR.new"
for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$DIR.new"; done
# What a booted system has and the packages leave to maintainer scripts: a /tmp, the busybox
# applet name programs use, and a minimal /etc for programs that read it.
mkdir -p "$DIR.new/tmp" "$DIR.new/etc"
chmod 1777 "$DIR.new/tmp"
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$DIR.new/etc/passwd"
printf 'root:x:0:\n' > "$DIR.new/etc/group"
{ echo "$WANT"; printf '%s\n' "${list[@]}"; } > "$DIR.new/.herd-rootfs"
rm -rf "$DIR"
mv "$DIR.new" "$DIR"
echo "$DIR"
