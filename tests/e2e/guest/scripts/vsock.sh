#!/bin/sh
# e2e scenario `vsock`: guest listeners for L1's host-initiated tests (16 MiB echo on port 5000,
# the lowercase `connect` handshake on 5001, 100 concurrent echo connections on 5002), then the
# guest-initiated tests: 16 MiB echo through L1's listener on host port 6000, a host port with no
# listener (6999, must be refused), and a stream to host port 6001 whose L1 peer is killed midway
# (the guest must see a reset).
mark() { echo "MINIVMM-E2E $1=$2"; }
socktool listen vsock:5001 --echo --announce 'MINIVMM-E2E listening-5001' &
l1=$!
socktool listen vsock:5002 --echo --count 100 --announce 'MINIVMM-E2E listening-5002' &
l2=$!
sleep 0.2
socktool listen vsock:5000 --echo --announce 'MINIVMM-E2E listening-5000' &
l0=$!

dd if=/dev/urandom of=/tmp/g2h bs=1M count=16 2>/dev/null
mark g2h-sha256 "$(sha256sum /tmp/g2h | cut -d' ' -f1)"
mark g2h-echo-sha256 "$(socktool connect vsock:2:6000 --stats </tmp/g2h | sha256sum | cut -d' ' -f1)"
rm -f /tmp/g2h
socktool connect vsock:2:6999 </dev/null >/dev/null 2>&1
mark g2h-refused-rc $?

socktool connect vsock:2:6001 </dev/zero >/dev/null 2>/tmp/kill.err &
streamer=$!
echo "MINIVMM-E2E streaming-6001"
wait "$streamer"
mark killed-peer-rc $?
mark killed-peer-error "$(tail -n1 /tmp/kill.err)"

# Wait (at most 120 s) for L1's host-initiated tests to finish with the three listeners.
for i in $(seq 1 1200); do
  kill -0 $l0 2>/dev/null || kill -0 $l1 2>/dev/null || kill -0 $l2 2>/dev/null || break
  sleep 0.1
done
for p in $l0 $l1 $l2; do kill -0 $p 2>/dev/null && { mark listener-left "$p"; kill $p; }; done
mark alive yes
