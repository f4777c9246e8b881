#!/usr/bin/env bash
# Builds the minivmm guest kernel (vmlinux with the PVH note, and bzImage) from Debian's
# linux-source-6.1 with tinyconfig plus the fragments in this folder. The result is cached outside
# the checkout under $MINIVMM_CACHE (default ~/.cache/minivmm), keyed by a hash of the fragments,
# this script and the source package version, so a second run is instant. Prints the directory
# holding vmlinux and bzImage as its last line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${MINIVMM_CACHE:-$HOME/.cache/minivmm}
tarball=/usr/src/linux-source-6.1.tar.xz
[ -f "$tarball" ] || { echo "guest-kernel: $tarball missing; run scripts/setup.sh" >&2; exit 1; }
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1)
key=$( (echo "$srcver"; cat "$here"/*.config "$here/build.sh") | sha256sum | cut -c1-16)
out="$cache/kernel-$key"
if [ -f "$out/vmlinux" ] && [ -f "$out/bzImage" ]; then
  echo "guest-kernel: cached ($out)" >&2
  echo "$out"
  exit 0
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/minivmm-kernel.XXXXXX")
trap 'rm -rf "$work"' EXIT
t0=$SECONDS
echo "guest-kernel: [1/4] unpacking linux-source $srcver" >&2
tar -xf "$tarball" -C "$work"
src=$(echo "$work"/linux-source-6.1)
echo "guest-kernel: [2/4] configuring (tinyconfig + fragments) [$((SECONDS - t0))s]" >&2
make -C "$src" -s tinyconfig >/dev/null
(cd "$src" && KCONFIG_CONFIG=.config ./scripts/kconfig/merge_config.sh -m .config "$here"/*.config >/dev/null)
make -C "$src" -s olddefconfig >/dev/null
# merge_config only warns when Kconfig drops an option; a dropped option is a broken guest.
bad=0
while IFS= read -r line; do
  case "$line" in CONFIG_*=n) opt=${line%%=*}; grep -q "^$opt=" "$src/.config" && { echo "guest-kernel: $opt should be off" >&2; bad=1; } ;;
    CONFIG_*) grep -qx "$line" "$src/.config" || { echo "guest-kernel: $line did not survive olddefconfig" >&2; bad=1; } ;; esac
done < <(cat "$here"/*.config)
[ $bad -eq 0 ] || exit 1
echo "guest-kernel: [3/4] compiling vmlinux and bzImage with $(nproc) jobs [$((SECONDS - t0))s]" >&2
make -C "$src" -s -j"$(nproc)" vmlinux bzImage >"$work/build.log" 2>&1 || { tail -30 "$work/build.log" >&2; exit 1; }
echo "guest-kernel: [4/4] caching in $out [$((SECONDS - t0))s]" >&2
mkdir -p "$out.tmp"
cp "$src/vmlinux" "$src/arch/x86/boot/bzImage" "$src/.config" "$out.tmp/"
rm -rf "$out"; mv "$out.tmp" "$out"
echo "guest-kernel: done in $((SECONDS - t0))s" >&2
echo "$out"
