#!/bin/sh
# e2e scenario `net-tap-delete`: streams TCP data to L1 while L1 deletes the tap. The guest must
# stay alive, see its carrier go down (VIRTIO_NET_S_LINK_UP cleared with a config interrupt) and
# reboot normally.
mark() { echo "MINIVMM-E2E $1=$2"; }
ip link set lo up
ip addr add 10.0.2.15/24 dev eth0 && ip link set eth0 up || mark error eth0-setup
ok=failed
for i in 1 2 3 4 5 6 7 8 9 10; do
  if ping -c 1 -W 2 10.0.2.1 >/dev/null 2>&1; then ok=ok; break; fi
done
mark ping-host "$ok"
mark carrier-before "$(cat /sys/class/net/eth0/carrier)"
socktool connect tcp:10.0.2.1:5203 </dev/zero >/dev/null 2>&1 &
sender=$!
echo "MINIVMM-E2E sending"
carrier=1
for i in $(seq 1 300); do
  carrier=$(cat /sys/class/net/eth0/carrier 2>/dev/null)
  [ "$carrier" = 0 ] && break
  sleep 0.1
done
mark carrier-after "$carrier"
kill "$sender" 2>/dev/null
wait "$sender" 2>/dev/null
mark alive yes
