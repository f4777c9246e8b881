# phases.gp: the boot-latency chart of bench/boot/boot_bench.py (gnuplot 5.4, pngcairo).
#
# Reads the tab-separated data file boot_bench.py writes next to the PNG (phases.dat). Block 0:
# one horizontal bar per VMM, exec -> guest /init marker -> VMM exit (median ms): minivmm stacked
# as VMM setup (exec -> first KVM_RUN) + guest boot (first KVM_RUN -> /init), QEMU microvm as one
# exec -> /init segment (no phase data), both followed by the /init -> exit tail (reboot +
# teardown). Block 1: minivmm's own setup phases (--boot-timing=json medians) as a waterfall, one
# row per phase, zoomed to exec -> first KVM_RUN. Columns: y, label, start_ms, end_ms, colour or
# category, text. Usage:
#   gnuplot -e "datafile='phases.dat'; outfile='phases.png'; plottitle='...'" phases.gp
if (!exists("datafile")) datafile = 'phases.dat'
if (!exists("outfile")) outfile = 'phases.png'
if (!exists("plottitle")) plottitle = 'Boot to guest /init'

set terminal pngcairo size 1200,800 font "DejaVu Sans,10" noenhanced
set output outfile
set datafile separator "\t"
# categories of block 0: VMM setup, guest boot, QEMU exec -> /init, /init -> exit
array CAT[4] = [0x4c72b0, 0x55a868, 0xdd8452, 0xbbbbbb]
array PH[9] = [0x4c72b0, 0xdd8452, 0x55a868, 0xc44e52, 0x8172b3, 0x937860, 0xda8bc3, 0x8c8c8c, 0xccb974]

set multiplot layout 2,1 title plottitle font ",12"

# --- top: exec -> /init -> exit per VMM ---------------------------------------------------------
set xrange [*:*]
set yrange [*:*]
stats datafile index 0 using 4 nooutput
set title "exec -> guest /init marker -> VMM exit (median, ms since exec)"
unset xlabel
set xrange [0:STATS_max * 1.4]
set yrange [0.4:2.6]
set ytics scale 0
set grid xtics
set key outside below horizontal maxrows 2 box
set style fill solid 0.85 border lc rgb "black"
plot datafile index 0 using (($3 + $4) / 2):1:3:4:($1 - 0.3):($1 + 0.3):(CAT[int($5)]):ytic(2) \
       with boxxyerror lc rgb variable notitle, \
     '' index 0 using 4:1:6 with labels left offset 0.6,0 notitle, \
     keyentry with boxes lc rgb CAT[1] title "minivmm: exec -> first KVM_RUN (VMM setup)", \
     keyentry with boxes lc rgb CAT[2] title "minivmm: first KVM_RUN -> /init (guest)", \
     keyentry with boxes lc rgb CAT[3] title "QEMU microvm: exec -> /init (QEMU setup + firmware + guest)", \
     keyentry with boxes lc rgb CAT[4] title "/init -> VMM exit (reboot, teardown)"

# --- bottom: minivmm's setup phases, waterfall --------------------------------------------------
set xrange [*:*]
set yrange [*:*]
stats datafile index 1 using 1:4 nooutput
set title "minivmm: exec -> first KVM_RUN by phase (--boot-timing=json medians)"
set xlabel "ms since exec"
set xrange [0:STATS_max_y * 1.45]
set yrange [0.4:STATS_max_x + 0.6]
set ytics scale 0
set key off
plot datafile index 1 using (($3 + $4) / 2):1:3:4:($1 - 0.35):($1 + 0.35):(PH[(int($5) - 1) % 9 + 1]):ytic(2) \
       with boxxyerror lc rgb variable notitle, \
     '' index 1 using 4:1:6 with labels left offset 0.6,0 notitle

unset multiplot
