# Sourced by the benchmark scripts that own one generated section of docs/BENCHMARKS.md.
#
#   write_doc_section SCRIPT TITLE FILE
#
# Replaces what lies between the markers "<!-- SCRIPT: begin (generated, do not edit by hand) -->"
# and "<!-- SCRIPT: end -->" with FILE's contents; without the markers, appends a "## TITLE"
# section holding them first.
write_doc_section() {
  local script=$1 title=$2 file=$3
  local doc begin end tmp
  doc=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/docs/BENCHMARKS.md
  begin="<!-- $script: begin (generated, do not edit by hand) -->"
  end="<!-- $script: end -->"
  if ! grep -qF "$begin" "$doc"; then printf '\n## %s\n\n%s\n%s\n' "$title" "$begin" "$end" >>"$doc"; fi
  tmp=$(mktemp "${TMPDIR:-/tmp}/herd-doc.XXXXXX") || return 1
  awk -v b="$begin" -v e="$end" -v f="$file" '
    $0 == b { print; while ((getline l < f) > 0) print l; skip = 1; next }
    $0 == e { skip = 0 }
    !skip { print }' "$doc" >"$tmp" && cp "$tmp" "$doc"
  rm -f "$tmp"
}
