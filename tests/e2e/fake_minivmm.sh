#!/bin/sh
# Harness self-test stand-in for minivmm: accepts minivmm's `run` CLI (--kernel, --initrd, --memory,
# --vcpus, --console, --cmdline) and execs QEMU microvm from /payload inside L1 with the same guest.
# Lets the minivmm code path of e2e_test.py (payload, flags, assertions) be checked before minivmm
# boots Linux:  tests/e2e/e2e_test.py --vmm minivmm,qemu --minivmm tests/e2e/fake_minivmm.sh
# Busybox sh inside L1; needs the QEMU payload, so always run it together with --vmm ...,qemu.
shift  # run
vcpus=1
while [ $# -gt 0 ]; do
  case "$1" in
    --kernel) k=$2 ;; --initrd) i=$2 ;; --memory) m=$2 ;; --vcpus) vcpus=$2 ;; --cmdline) c=$2 ;; --console) ;;
  esac; shift 2
done
exec /payload/qemu-system-x86_64 -L /payload/qemu-roms -M microvm,x-option-roms=off,rtc=off,isa-serial=on -enable-kvm -cpu host -m "$m" -smp "$vcpus" -nodefaults -no-user-config -nographic -serial stdio -no-reboot -device i8042 -kernel "$k" -initrd "$i" -append "$c"
