#!/usr/bin/env bash
# Draws docs/img/*.png from the data benchmarks/run.sh leaves in docs/img/data/*.tsv (run.sh calls
# this after every run that writes the doc; run it by hand to redraw). Needs gnuplot (Debian
# gnuplot-nox, installed by scripts/setup.sh). Each plot is drawn only if its data file exists:
#
#   programs.png         real programs: native / qemu-user / herd / herd serial, grouped bars, log scale
#   threads-scaling.png  threads_cpu T = 1..8: in-guest time relative to T = 1, per runner
#   latency.png          distributions (CDF) of the syscall, futex (condvar) and signal round trips
#
# The first line of every data file says when and at which commit it was measured; the plots
# carry it in their titles (and "SMOKE RUN" when it was a --small run).
set -euo pipefail
ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
IMG=$ROOT/docs/img
DATA=$IMG/data
command -v gnuplot >/dev/null || { echo "plot.sh: gnuplot not installed (apt-get install gnuplot-nox)" >&2; exit 1; }
stamp() { head -n 1 "$1" | sed 's/^# //; s/; load at start.*SMOKE/; SMOKE/; s/; load at start[^;]*//; s/; unit.*//' | sed 's/_/\\\\_/g'; }
# Short form for the small latency panels: the date, and the smoke marker.
stamp_short() { head -n 1 "$1" | sed 's/^# \([^;]*\);.*/\1/' | tr -d '\n'; if head -n 1 "$1" | grep -q SMOKE; then printf ' - SMOKE RUN'; fi; }
TERM_OPTS='pngcairo size 1100,620 font "DejaVu Sans,10" noenhanced'
drawn=()

if [ -f "$DATA/programs.tsv" ]; then
  gnuplot <<GP
set terminal $TERM_OPTS
set output "$IMG/programs.png"
set title "Real programs: wall time per run, whole process (log scale; lower is better)\n$(stamp "$DATA/programs.tsv")"
set datafile missing "NaN"
set style data histogram
set style histogram cluster gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set ylabel "seconds (median)"
set grid ytics
set key top left
plot "$DATA/programs.tsv" using 2:xtic(1) title columnheader lc rgb "#4c72b0", \
     "" using 3 title columnheader lc rgb "#dd8452", \
     "" using 4 title columnheader lc rgb "#c44e52", \
     "" using 5 title columnheader lc rgb "#8172b3"
GP
  drawn+=(programs.png)
fi

if [ -f "$DATA/threads-scaling.tsv" ]; then
  cores=$(head -n 1 "$DATA/threads-scaling.tsv" | sed -n 's/.*; \([0-9]*\) cores;.*/\1/p'); cores=${cores:-2}
  # ratio to each runner's own T = 1 (NaN when T = 1 is missing)
  awk 'NR <= 2 { next } { for (i = 2; i <= NF; i++) v[NR, i] = $i; t[NR] = $1; if ($1 == 1) for (i = 2; i <= NF; i++) base[i] = $i; nf = NF; last = NR }
       END { for (r = 3; r <= last; r++) { printf "%s", t[r]
               for (i = 2; i <= nf; i++) { x = v[r, i]; b = base[i]; printf " %s", (x == "NaN" || b == "" || b == "NaN" || b <= 0) ? "NaN" : x / b }
               print "" } }' "$DATA/threads-scaling.tsv" >"$DATA/.threads-ratio.tmp"
  gnuplot <<GP
set terminal $TERM_OPTS
set output "$IMG/threads-scaling.png"
set title "threads\\_cpu: T threads x fixed work each, in-guest time relative to T = 1 (lower is better)\n$(stamp "$DATA/threads-scaling.tsv")"
set datafile missing "NaN"
set logscale x 2
set xtics (1, 2, 4, 8)
set xrange [0.8:10]
set xlabel "guest threads T"
set ylabel "time(T) / time(1)"
set grid
set key top left
plot $cores > 0 ? (x <= $cores ? 1 : x / $cores) : 1/0 with lines dt 2 lw 2 lc rgb "black" title "ideal on $cores cores", \
     "$DATA/.threads-ratio.tmp" using 1:2 with linespoints lw 2 pt 7 lc rgb "#4c72b0" title "native", \
     "" using 1:3 with linespoints lw 2 pt 7 lc rgb "#dd8452" title "qemu-user", \
     "" using 1:4 with linespoints lw 2 pt 7 lc rgb "#c44e52" title "herd (parallel)", \
     "" using 1:5 with linespoints lw 2 pt 7 lc rgb "#8172b3" title "herd --mode serial"
GP
  rm -f "$DATA/.threads-ratio.tmp"
  drawn+=(threads-scaling.png)
fi

lat=()
for k in getppid pingpong sigrun sigblk; do [ -f "$DATA/latency-$k.tsv" ] && lat+=("$k"); done
if [ ${#lat[@]} -gt 0 ]; then
  {
    echo "set terminal pngcairo size 1200,900 font \"DejaVu Sans,10\" noenhanced"
    echo "set output \"$IMG/latency.png\""
    echo "set datafile missing \"NaN\""
    echo "set multiplot layout 2,2 title \"Latency distributions (CDF of in-guest samples; further left is faster)\\n$(stamp "$DATA/latency-${lat[0]}.tsv")\""
    echo "set logscale x"
    echo "set grid"
    echo "set ylabel \"percentile\""
    echo "set yrange [0:100]"
    echo "set key bottom right"
    for k in "${lat[@]}"; do
      f=$DATA/latency-$k.tsv
      unit=$(head -n 1 "$f" | sed -n 's/.*; unit \([^;]*\);.*/\1/p')
      case $k in
        getppid) what="syscall round trip: getppid, per call (batches of 100)" ;;
        pingpong) what="futex round trip: condvar ping-pong, per round trip" ;;
        sigrun) what="signal: pthread_kill to handler, target running" ;;
        sigblk) what="signal: pthread_kill to handler, target in sigsuspend" ;;
      esac
      echo "set title \"$what\\n$(stamp_short "$f")\""
      echo "set xlabel \"$unit\""
      echo "plot \"$f\" using 2:1 with lines lw 2 lc rgb \"#4c72b0\" title \"native\", \"\" using 3:1 with lines lw 2 lc rgb \"#dd8452\" title \"qemu-user\", \"\" using 4:1 with lines lw 2 lc rgb \"#c44e52\" title \"herd\""
    done
    echo "unset multiplot"
  } | gnuplot
  drawn+=(latency.png)
fi
echo "plot.sh: drew ${drawn[*]:-nothing (no data in docs/img/data)}" >&2
