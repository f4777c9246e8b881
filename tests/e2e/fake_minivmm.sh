#!/bin/sh
# Harness self-test stand-in for minivmm: accepts minivmm's `run` CLI (--kernel, --initrd, --memory,
# --vcpus, --console, --cmdline, --disk PATH[,ro][,serial=ID], --rootfs PATH[,ro]) and execs QEMU
# microvm from /payload inside L1 with the same guest and disks (paths without spaces or commas).
# Lets the minivmm code path of e2e_test.py (payload, flags, assertions) be checked before minivmm
# boots Linux:  tests/e2e/e2e_test.py --vmm minivmm,qemu --minivmm tests/e2e/fake_minivmm.sh
# Busybox sh inside L1; needs the QEMU payload, so always run it together with --vmm ...,qemu.
shift  # run
vcpus=1 i= root= drives= n=0
add_disk() { # SPEC: PATH[,ro][,serial=ID] -> -drive/-device words in $drives
  path=${1%%,*} ro= serial=
  rest=${1#"$path"}
  for o in $(echo "$rest" | tr ',' ' '); do
    case "$o" in ro) ro=,readonly=on ;; serial=*) serial=",serial=${o#serial=}" ;; esac
  done
  drives="$drives -drive id=d$n,file=$path,format=raw,if=none,werror=report,rerror=report$ro"
  drives="$drives -device virtio-blk-device,drive=d$n$serial"
  n=$((n + 1))
}
rootfs=
while [ $# -gt 0 ]; do
  case "$1" in
    --kernel) k=$2 ;; --initrd) i=$2 ;; --memory) m=$2 ;; --vcpus) vcpus=$2 ;; --cmdline) c=$2 ;; --console) ;;
    --rootfs) rootfs=$2 ;;
    --disk) disks="${disks:+$disks }$2" ;;
  esac; shift 2
done
if [ -n "$rootfs" ]; then
  add_disk "$rootfs"
  case "$rootfs" in *,ro*) root="root=/dev/vda ro" ;; *) root="root=/dev/vda rw" ;; esac
fi
for d in $disks; do add_disk "$d"; done
# shellcheck disable=SC2086  # $drives: word-split on purpose
exec /payload/qemu-system-x86_64 -L /payload/qemu-roms -M microvm,x-option-roms=off,rtc=off,isa-serial=on,acpi=off -enable-kvm -cpu host -m "$m" -smp "$vcpus" -nodefaults -no-user-config -nographic -serial stdio -no-reboot -device i8042 -kernel "$k" ${i:+-initrd "$i"} $drives -append "$c${root:+ $root}"
