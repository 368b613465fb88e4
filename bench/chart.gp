# bench/run's chart: requests/s of `true` by concurrency, one line per server.
# gnuplot -e "datafile='...'; outfile='...'" bench/chart.gp
set terminal svg size 720,420 font "sans,11"
set output outfile
set title "nbnet-load: requests/s of 'true' on loopback, medians of 3"
set xlabel "concurrent clients"
set ylabel "requests/s"
set logscale x 2
set xtics (1, 2, 8, 32)
set key outside right
set grid ytics
stats datafile skip 1 nooutput
columns = STATS_columns
plot for [i=2:columns] datafile using 1:i with linespoints lw 2 title columnhead(i)
