#!/bin/sh
# e2e scenario `net`: eth0 on the L1 tap (10.0.2.0/24, L1 is .1). Pings L1, sends 64 MiB of random
# data over TCP to L1 (guest -> host), then receives 64 MiB from L1 (host -> guest); prints the
# sha256 of both so the check can compare them with L1's.
mark() { echo "MINIVMM-E2E $1=$2"; }
ip link set lo up
ip addr add 10.0.2.15/24 dev eth0 && ip link set eth0 up || mark error eth0-setup
mark eth0-mac "$(cat /sys/class/net/eth0/address)"
mark eth0-mtu "$(cat /sys/class/net/eth0/mtu)"
# L1 configures its side of the tap once it exists; give it a few tries.
ok=failed
for i in 1 2 3 4 5 6 7 8 9 10; do
  if ping -c 1 -W 2 10.0.2.1 >/dev/null 2>&1; then ok=ok; break; fi
done
mark ping-host "$ok"
dd if=/dev/urandom of=/tmp/g2h bs=1M count=64 2>/dev/null
mark g2h-sha256 "$(sha256sum /tmp/g2h | cut -d' ' -f1)"
if socktool connect tcp:10.0.2.1:5201 --stats </tmp/g2h >/dev/null; then mark g2h-send ok; else mark g2h-send failed; fi
rm -f /tmp/g2h
mark h2g-sha256 "$(socktool listen tcp:5202 --announce 'MINIVMM-E2E h2g-listening' | sha256sum | cut -d' ' -f1)"
