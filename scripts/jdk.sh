# shellcheck shell=bash
# Sourceable helpers that find a JDK (or JRE) whose major version is >= 22.
# Used by bin/herd and scripts/setup.sh, so both pick the same Java.
#
#   herd_java_major DIR     prints the major version of the Java at DIR (a JAVA_HOME), or fails
#   herd_find_java_home [N] prints the best Java home with major >= N (default 22):
#                           $JAVA_HOME if it qualifies, else the newest under /usr/lib/jvm.
#                           With HERD_NEED_JAVAC=1 only homes that have bin/javac qualify.
#   herd_java_major_var DIR, herd_find_java_home_var [N]
#                           the same, into HERD_JAVA_MAJOR / HERD_JAVA_HOME instead of printed:
#                           no command substitution, so no subshell (bin/herd runs at every
#                           start, and each fork costs ~0.3 ms there).

herd_java_major() {
  herd_java_major_var "$1" && printf '%s\n' "$HERD_JAVA_MAJOR"
}

herd_find_java_home() {
  herd_find_java_home_var "$@" && printf '%s\n' "$HERD_JAVA_HOME"
}

herd_java_major_var() {
  local home=$1 v=""
  HERD_JAVA_MAJOR=""
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
  HERD_JAVA_MAJOR=$v
}

herd_find_java_home_var() {
  local min=${1:-22} best="" best_major=0 dir
  HERD_JAVA_HOME=""
  if [ -n "${JAVA_HOME:-}" ] && herd_java_major_var "$JAVA_HOME" && [ "$HERD_JAVA_MAJOR" -ge "$min" ]; then
    HERD_JAVA_HOME=${JAVA_HOME%/}
    return 0
  fi
  for dir in /usr/lib/jvm/*/; do
    dir=${dir%/}
    [ -L "$dir" ] && continue          # skip aliases such as default-java, openjdk-17
    herd_java_major_var "$dir" || continue
    if [ "$HERD_JAVA_MAJOR" -ge "$min" ] && [ "$HERD_JAVA_MAJOR" -gt "$best_major" ]; then
      best=$dir
      best_major=$HERD_JAVA_MAJOR
    fi
  done
  [ -n "$best" ] || return 1
  HERD_JAVA_HOME=$best
  HERD_JAVA_MAJOR=$best_major
}
