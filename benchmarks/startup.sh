#!/usr/bin/env bash
# Start-up profile of bin/herd: runs `bin/herd run PROGRAM` N times with HERD_STARTUP_TRACE=1
# (milestone lines on stderr, see dev.herd.host.StartupTrace) and prints, per milestone, the
# median time since the previous one, plus the median whole wall time (measured around the
# process, bin/herd's bash included) and CPU time (user+sys, which a loaded machine inflates less). Several variants run interleaved (A B A B ...), so a
# machine whose load changes affects them alike. A benchmark, not a test.
#
#   benchmarks/startup.sh [--runs N] [--program P] [LABEL=ENVSPEC ...]
#
#   LABEL=ENVSPEC  a variant: space-separated VAR=value settings for the run, e.g.
#                  'noaot=HERD_AOT=off' 'never=HERD_ATOMIC_PATCHING=never'; default one variant
#                  "default" with nothing set. BIN=PATH in a spec runs that bin/herd (e.g. another
#                  worktree's) instead of this one's.
set -uo pipefail
ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=9 program=/bin/true
variants=()
while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --program) program=$2; shift 2 ;;
    *) variants+=("$1"); shift ;;
  esac
done
[ ${#variants[@]} -gt 0 ] || variants=("default=")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/herd-startup.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((r = 0; r < runs; r++)); do
  for v in "${variants[@]}"; do
    label=${v%%=*} spec=${v#*=}
    # shellcheck disable=SC2086
    t0=$(date +%s%N)
    herd=$ROOT/bin/herd
    case " $spec " in *" BIN="*) herd=${spec##*BIN=}; herd=${herd%% *}; spec=${spec/BIN=$herd/} ;; esac
    /usr/bin/time -f "cpu %U %S" -o "$tmp/$label.$r.time" \
      env HERD_STARTUP_TRACE=1 $spec "$herd" run "$program" >/dev/null 2>"$tmp/$label.$r.err"
    t1=$(date +%s%N)
    echo "wall $(( (t1 - t0) / 1000 ))" >>"$tmp/$label.$r.err"
    cat "$tmp/$label.$r.time" >>"$tmp/$label.$r.err"
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$tmp" "$runs" "${variants[@]}" <<'PY'
import sys, re, statistics, collections
tmp, runs, variants = sys.argv[1], int(sys.argv[2]), [v.split('=', 1)[0] for v in sys.argv[3:]]
for label in variants:
    steps = collections.OrderedDict(); walls = []; first = []; cpus = []
    for r in range(runs):
        prev_scan = 0.0
        for line in open(f"{tmp}/{label}.{r}.err", errors="replace"):
            m = re.match(r"herd-startup: +([\d.]+) ms since JVM start, \+ *([\d.]+) ms  (.*)", line)
            if m:
                name = re.sub(r"0x[0-9a-f]+-0x[0-9a-f]+: [\d.]+ ms", "RANGE", m.group(3))
                name = re.sub(r"  \[pid \d+, monotonic [\d.]+ ms\]$", "", name.rstrip())
                if name == "HerdMain.main": first.append(float(m.group(1)))
                key = name; i = 2
                while key in steps and len(steps[key]) > r: key = f"{name} #{i}"; i += 1
                steps.setdefault(key, []).append(float(m.group(2)))
            elif line.startswith("wall "):
                walls.append(int(line.split()[1]) / 1000.0)
            elif line.startswith("cpu "):
                cpus.append(1000.0 * (float(line.split()[1]) + float(line.split()[2])))
    print(f"\n== {label}: median of {runs} runs (ms)")
    if first: print(f"  {statistics.median(first):8.1f}  JVM start -> HerdMain.main (origin has 10 ms resolution)")
    for k, v in steps.items():
        if k == "HerdMain.main": continue
        print(f"  {statistics.median(v):8.1f}  {k}" + ("" if len(v) == runs else f"  ({len(v)} of {runs} runs)"))
    print(f"  {statistics.median(walls):8.1f}  WALL (whole bin/herd run; min {min(walls):.1f}, max {max(walls):.1f})")
    if cpus: print(f"  {statistics.median(cpus):8.1f}  CPU user+sys of the whole run (10 ms resolution; min {min(cpus):.0f}, max {max(cpus):.0f})")
PY
