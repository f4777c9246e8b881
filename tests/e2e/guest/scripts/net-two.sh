#!/bin/sh
# e2e scenario `net-two`: two NICs on two taps (10.0.2.0/24 and 10.0.3.0/24, L1 is .1 on both;
# the second NIC announces MTU 9000). Prints each NIC's MAC and MTU and pings L1 over each.
mark() { echo "MINIVMM-E2E $1=$2"; }
ip link set lo up
n=2
for dev in eth0 eth1; do
  ip addr add 10.0.$n.15/24 dev $dev && ip link set $dev up || mark error $dev-setup
  mark $dev-mac "$(cat /sys/class/net/$dev/address)"
  mark $dev-mtu "$(cat /sys/class/net/$dev/mtu)"
  ok=failed
  for i in 1 2 3 4 5 6 7 8 9 10; do
    if ping -c 1 -W 2 10.0.$n.1 >/dev/null 2>&1; then ok=ok; break; fi
  done
  mark $dev-ping "$ok"
  n=$((n + 1))
done
# A full-size frame on eth1 (8972 bytes of ICMP payload + 28 = 9000): the MTU is real end to end.
if ping -c 1 -W 2 -s 8972 10.0.3.1 >/dev/null 2>&1; then mark eth1-jumbo ok; else mark eth1-jumbo failed; fi
