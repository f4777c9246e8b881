#!/bin/sh
# Guest side of bench/net/net_bench.py, run by the e2e guest /init as /e2e/scripts/netbench.sh
# (kernel cmdline `e2e.script=netbench bench.bytes=N bench.vsock=0|1`).
#
# eth0 = 10.0.2.15/24 on the L1 tap (L1 is 10.0.2.1). Four transfers of N bytes, in this order
# (the vsock ones only with bench.vsock=1):
#   tcp_g2h    guest sends  /tmp/src to tcp:10.0.2.1:5201    (sender: this script, --stats here)
#   tcp_h2g    guest listens on tcp:5202, L1 sends            (sender: L1, --stats in L1)
#   vsock_g2h  guest sends  /tmp/src to vsock:2:5301          (L1 listens on UDS_5301)
#   vsock_h2g  guest listens on vsock:5302, L1 sends through the hybrid socket (CONNECT 5302)
# Synchronisation with L1 goes through the console: before sending, the guest prints NAME.ready
# and retries its connect while L1 has no listener yet (L1 starts it, and its CPU snapshot, on
# seeing NAME.ready); a guest listener announces NAME.listening once it listens.
# The data is N zero bytes from a file in the guest's RAM (/tmp/src), so the sender's cost is a
# page-cache copy, not a pipe. Receivers discard into /dev/null; their stdin is a FIFO held open
# read-write, so they never see EOF on it (socktool shuts its socket down on stdin EOF, which
# would end the sender early).
# A failed transfer ends the script (exit 1), so the VMM exits and L1 stops waiting.
# Markers: `MINIVMM-BENCH key=value`; NAME.sent_secs=BYTES:SECONDS from the sender's --stats
# line (socktool times from connect until the receiver closed after reading everything).
mark() { echo "MINIVMM-BENCH $1=$2"; }
bytes=67108864 vsock=0
set -f
for w in $(cat /proc/cmdline); do
  case "$w" in bench.bytes=*) bytes=${w#*=} ;; bench.vsock=*) vsock=${w#*=} ;; esac
done
set +f
irqs() { awk '/virtio/ { for (i = 2; i <= NF; i++) if ($i ~ /^[0-9]+$/) s += $i; else break } END { print s + 0 }' /proc/interrupts; }

ip link set lo up
if ! { ip addr add 10.0.2.15/24 dev eth0 && ip link set eth0 up; }; then
  mark error eth0-setup
  exit 1
fi
mark eth0-mtu "$(cat /sys/class/net/eth0/mtu)"
for d in /sys/bus/virtio/devices/*; do
  [ "$(cat "$d/device" 2>/dev/null)" = 0x0001 ] && mark net-features "$(cat "$d/features")"
done
mark nproc "$(grep -c '^processor' /proc/cpuinfo)"
# L1 configures its side of the tap once the VMM created it: retry for up to ~60 s.
ok=failed
for i in $(seq 1 60); do
  if ping -c 1 -W 1 10.0.2.1 >/dev/null 2>&1; then ok=ok; break; fi
done
mark ping-host "$ok"
[ "$ok" = ok ] || exit 1
head -c "$bytes" /dev/zero >/tmp/src || { mark error src-file; exit 1; }
mkfifo /tmp/hold

# send NAME ADDR: connect to ADDR (retrying while refused: L1 starts its listener on NAME.ready)
send() {
  name=$1 addr=$2
  i0=$(irqs)
  mark "$name.ready" 1
  n=0
  while :; do
    socktool connect "$addr" --stats </tmp/src >/dev/null 2>/tmp/err
    r=$?
    [ $r -eq 0 ] && break
    # connect() itself failed (no listener yet): "socktool: ADDR: ...". Anything else is fatal.
    if grep -q "^socktool: $addr:" /tmp/err && [ $n -lt 300 ]; then
      n=$((n + 1)); sleep 0.1; continue
    fi
    cat /tmp/err
    mark "$name.failed" "rc=$r"
    exit 1
  done
  i1=$(irqs)
  cat /tmp/err
  mark "$name.retries" "$n"
  mark "$name.sent_secs" "$(sed -n 's/^socktool: sent \([0-9]*\) received [0-9]* bytes in \([0-9.]*\) s.*/\1:\2/p' /tmp/err)"
  mark "$name.irqs" $((i1 - i0))
}

# recv NAME ADDR: listen on ADDR for one connection, discard its bytes
recv() {
  name=$1 addr=$2
  i0=$(irqs)
  socktool listen "$addr" --announce "MINIVMM-BENCH $name.listening=1" <>/tmp/hold >/dev/null
  r=$?
  i1=$(irqs)
  mark "$name.rc" $r
  [ $r -eq 0 ] || { mark "$name.failed" "rc=$r"; exit 1; }
  mark "$name.irqs" $((i1 - i0))
}

send tcp_g2h tcp:10.0.2.1:5201
recv tcp_h2g tcp:5202
if [ "$vsock" = 1 ]; then
  send vsock_g2h vsock:2:5301
  recv vsock_h2g vsock:5302
fi
rm -f /tmp/src /tmp/hold
mark finished 1
