#!/bin/sh
# e2e scenario `console-stdin`: L1 pipes 64 KiB of random bytes, 16 times the UART's receive FIFO,
# into `minivmm run`'s stdin (forwarded because the config sets console.stdin_input). The guest
# reads them raw from its console (for at most 60 s; dd keeps whole 4 KiB blocks) and prints how
# many arrived and their sha256: the VMM must hold back what does not fit in the FIFO rather than
# drop it (before it did, 4096 of the 65536 bytes arrived).
stty raw -echo || echo "MINIVMM-E2E error=stty-raw"
echo "MINIVMM-E2E ready-for-stdin=1"
timeout 60 dd bs=4096 count=16 iflag=fullblock of=/tmp/stdin.bin 2>/dev/null
stty sane
echo "MINIVMM-E2E stdin-bytes=$(wc -c </tmp/stdin.bin)"
echo "MINIVMM-E2E stdin-sha256=$(sha256sum /tmp/stdin.bin | cut -d' ' -f1)"
