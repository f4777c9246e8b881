#!/bin/sh
# e2e scenario `api-pause-resume`: prints `api-tick N` (N = 1, 2, 3, ...) about every 100 ms for
# the API driver, which pauses the machine and checks that no tick arrives while it is paused and
# that the count continues after resume. Never ends by itself: the driver stops the machine.
echo "MINIVMM-E2E api-ticker-started=1"
i=0
while [ $i -lt 1000000 ]; do
  i=$((i + 1))
  echo "api-tick $i"
  sleep 0.1
done
