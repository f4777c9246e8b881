#!/usr/bin/env bash
# The README's first command: installs dependencies, builds minivmm, builds the guest kernel
# (cached) and an ext4 root filesystem image (busybox, `mkfs.ext4 -d`, no root privileges), and
# boots it as a sandbox guest with `minivmm run --rootfs`. On a host
# whose /dev/kvm is PVM (upstream Linux cannot boot there), it says so in one line and runs the
# same boot inside the nested KVM harness (tests/e2e), printing the guest's console.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
step() { echo "quickstart: $*" >&2; }

step "[1/4] installing dependencies"
bash scripts/setup.sh
step "[2/4] building minivmm"
scripts/build.sh build
step "[3/4] building the guest kernel (about 5 minutes the first time, then cached)"
kernel_dir=$(guest-kernel-config/build.sh | tail -n 1)
step "[4/4] booting the sandbox guest"
if [ -d /sys/module/kvm_pvm ]; then
  echo "quickstart: this host's /dev/kvm is PVM, which cannot run an upstream Linux guest; running the same 'minivmm run' inside the nested KVM harness (QEMU TCG + kvm_amd, about a minute)." >&2
  exec python3 tests/e2e/e2e_test.py --minivmm build/minivmm --kernel-dir "$kernel_dir" \
    --only rootfs-sandbox --show-console
fi
rootfs=$(mktemp --suffix=.ext4)
trap 'rm -f "$rootfs"' EXIT
tests/e2e/guest/build_rootfs.sh "$rootfs" >/dev/null
build/minivmm run --kernel "$kernel_dir/vmlinux" --rootfs "$rootfs" --vcpus 2 --memory 256 \
  --cmdline "console=ttyS0 reboot=k panic=-1 quiet e2e.script=sandbox"
