# shellcheck shell=bash
# Sourceable helpers that find a JDK (or JRE) whose major version is >= 22.
# Used by bin/herd and scripts/setup.sh, so both pick the same Java.
#
#   herd_java_major DIR     prints the major version of the Java at DIR (a JAVA_HOME), or fails
#   herd_find_java_home [N] prints the best Java home with major >= N (default 22):
#                           $JAVA_HOME if it qualifies, else the newest under /usr/lib/jvm.
#                           With HERD_NEED_JAVAC=1 only homes that have bin/javac qualify.

herd_java_major() {
  local home=$1 v=""
  [ -x "$home/bin/java" ] || return 1
  if [ "${HERD_NEED_JAVAC:-0}" = 1 ] && [ ! -x "$home/bin/javac" ]; then return 1; fi
  if [ -r "$home/release" ]; then
    # bash builtins only: bin/herd runs this on every start (forks cost ~1-2 ms each)
    local line
    while IFS= read -r line || [ -n "$line" ]; do
      case $line in
        JAVA_VERSION=\"*) v=${line#JAVA_VERSION=\"}; v=${v%%\"*}; break ;;
      esac
    done <"$home/release"
  fi
  if [ -z "$v" ]; then
    # No release file: ask the JVM itself (slow, ~50 ms, so only as a fallback).
    v=$("$home/bin/java" -XshowSettings:properties -version 2>&1 \
        | sed -n 's/^ *java\.specification\.version = *//p' | head -n 1)
  fi
  [ -n "$v" ] || return 1
  case $v in
    1.*) v=${v#1.} ;;   # 1.8.0_392 -> 8
  esac
  v=${v%%[.+_-]*}
  case $v in
    ''|*[!0-9]*) return 1 ;;
  esac
  printf '%s\n' "$v"
}

herd_find_java_home() {
  local min=${1:-22} best="" best_major=0 dir major
  if [ -n "${JAVA_HOME:-}" ]; then
    major=$(herd_java_major "$JAVA_HOME") || major=0
    if [ "$major" -ge "$min" ]; then
      printf '%s\n' "${JAVA_HOME%/}"
      return 0
    fi
  fi
  for dir in /usr/lib/jvm/*/; do
    dir=${dir%/}
    [ -L "$dir" ] && continue          # skip aliases such as default-java, openjdk-17
    major=$(herd_java_major "$dir") || continue
    if [ "$major" -ge "$min" ] && [ "$major" -gt "$best_major" ]; then
      best=$dir
      best_major=$major
    fi
  done
  [ -n "$best" ] || return 1
  printf '%s\n' "$best"
}
