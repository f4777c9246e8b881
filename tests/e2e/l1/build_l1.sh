#!/usr/bin/env bash
# Prepares the L1 machine of the nested e2e harness: a Debian kernel booted in QEMU TCG with
# `-cpu EPYC,+svm`, whose initramfs insmods the kvm stack (so L1 has a real /dev/kvm) and then runs
# /scenario.sh, which starts the L2 VMM (minivmm or QEMU) on the payload files.
#
# Expensive parts (the Debian linux-image package: vmlinuz + the .ko files in L1_MODULES and their
# dependencies, decompressed) are cached under ${MINIVMM_CACHE:-~/.cache/minivmm}/l1-<key>/, keyed
# by the package version and the module list. The initramfs is assembled on every call (a few
# seconds): busybox-static, the modules, l1/init, the scenario script and a /payload directory.
#
# Usage: build_l1.sh --out DIR [--scenario SCRIPT] [--bin SRC[=DEST]]... [--file SRC[=DEST]]...
#                    [--module NAME]...
#   --bin   copies an executable to /payload/DEST (default: its basename), without debug info,
#           plus every shared library ldd lists for it (and the dynamic loader) at the same
#           absolute paths in L1.
#   --file  copies a file to /payload/DEST (DEST may contain sub-directories).
#   --module adds a kernel module (with its dependencies) to L1_MODULES, e.g. tun, vhost_net.
# Writes DIR/vmlinuz and DIR/l1.cpio.gz and prints DIR as the last line of stdout.
# Needs apt-get (download only), dpkg-deb, kmod (modinfo), xz-utils, busybox-static, cpio, gzip.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${MINIVMM_CACHE:-$HOME/.cache/minivmm}

# Modules insmod-ed in L1 (dependencies are added and ordered automatically from modinfo).
# tun: the virtio-net scenarios' tap devices (minivmm and QEMU's -netdev tap create them).
L1_MODULES=(irqbypass kvm ccp kvm-amd tun)

out='' scenario=''
bins=() files=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --scenario) scenario=$2; shift 2 ;;
    --bin) bins+=("$2"); shift 2 ;;
    --file) files+=("$2"); shift 2 ;;
    --module) L1_MODULES+=("$2"); shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "build_l1: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$out" ] || { echo "build_l1: --out DIR is required" >&2; exit 2; }
log() { echo "build_l1: $*" >&2; }

# --- 1. Debian kernel + modules (cached) -----------------------------------------------------
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
[ -n "$pkg" ] || { log "cannot resolve linux-image-amd64 (apt-get update?)"; exit 1; }
pkgver=$(apt-cache show "$pkg" 2>/dev/null | awk '/^Version:/ { print $2; exit }')
# Bump cache_format when the cached layout or its extraction changes.
cache_format=1
key=$( (echo "format $cache_format $pkg $pkgver"; printf '%s\n' "${L1_MODULES[@]}" | sort -u) | sha256sum | cut -c1-16)
kdir="$cache/l1-$key"
if [ -f "$kdir/vmlinuz" ] && [ -f "$kdir/modules/order" ]; then
  log "kernel cached ($kdir, $pkg $pkgver)"
else
  log "fetching $pkg $pkgver"
  work=$(mktemp -d "${TMPDIR:-/tmp}/minivmm-l1.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && apt-get download -q "$pkg=$pkgver" >/dev/null 2>"$work/apt.log") \
    || { cat "$work/apt.log" >&2; exit 1; }
  dpkg-deb -x "$work"/*.deb "$work/x"
  kver=${pkg#linux-image-}
  mroot="$work/x/lib/modules/$kver"
  [ -d "$mroot" ] || { log "no $mroot in $pkg"; exit 1; }
  mkdir -p "$work/cache/modules"
  cp "$work/x/boot/vmlinuz-$kver" "$work/cache/vmlinuz"
  # Depth-first over modinfo dependencies: a module is appended after all of its dependencies.
  declare -A done_mod=()
  order=()
  modfile() { # NAME -> path of NAME.ko* in the package ('-' and '_' are interchangeable)
    local pat=${1//[-_]/[-_]}
    find "$mroot" -name "$pat.ko" -o -name "$pat.ko.xz" -o -name "$pat.ko.zst" | head -n1
  }
  add_mod() {
    local name=${1//-/_} file dep
    [ -n "${done_mod[$name]:-}" ] && return 0
    done_mod[$name]=1
    file=$(modfile "$name")
    [ -n "$file" ] || { log "module $1 not found in $pkg"; exit 1; }
    for dep in $(modinfo -F depends "$file" | tr ',' ' '); do add_mod "$dep"; done
    case "$file" in
      *.ko.xz) xz -dc "$file" >"$work/cache/modules/$name.ko" ;;
      *.ko.zst) zstd -qdc "$file" >"$work/cache/modules/$name.ko" ;;
      *) cp "$file" "$work/cache/modules/$name.ko" ;;
    esac
    order+=("$name")
  }
  for m in "${L1_MODULES[@]}"; do add_mod "$m"; done
  printf '%s\n' "${order[@]}" >"$work/cache/modules/order"
  echo "$pkg $pkgver" >"$work/cache/version"
  mkdir -p "$cache"
  rm -rf "$kdir" "$kdir.tmp"
  mv "$work/cache" "$kdir.tmp" && mv "$kdir.tmp" "$kdir"
  log "cached $pkg $pkgver, modules: ${order[*]} ($kdir)"
fi

# --- 2. L1 initramfs ------------------------------------------------------------------------
root=$(mktemp -d "${TMPDIR:-/tmp}/minivmm-l1root.XXXXXX")
trap 'rm -rf "$root" ${work:+"$work"}' EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,payload,lib64}
cp /bin/busybox "$root/bin/busybox"
while IFS= read -r applet; do
  applet=${applet#/}
  [ -e "$root/$applet" ] || [ "$applet" = bin/busybox ] && continue
  case "$applet" in usr/*) ln -s ../../bin/busybox "$root/$applet" ;; *) ln -s ../bin/busybox "$root/$applet" ;; esac
done < <(/bin/busybox --list-full)
cp -r "$kdir/modules" "$root/modules"
install -m 0755 "$here/init" "$root/init"
if [ -n "$scenario" ]; then
  install -m 0755 "$scenario" "$root/scenario.sh"
fi
[ "$(id -u)" -ne 0 ] || mknod -m 600 "$root/dev/console" c 5 1

copy_lib() { # absolute path of a shared library -> same path in L1 (symlinks resolved)
  local lib=$1
  [ -e "$root$lib" ] && return 0
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
  # A library from a build tree (libminivmm.so.0 under /tmp/ci/build) would be hidden in L1 by
  # its tmpfs /tmp: also put it in a directory the loader searches by default.
  case "$lib" in
    /lib/* | /lib64/* | /usr/lib/*) ;;
    *) mkdir -p "$root/lib/x86_64-linux-gnu" && cp -L "$lib" "$root/lib/x86_64-linux-gnu/" ;;
  esac
}
for spec in "${bins[@]}"; do
  src=${spec%%=*}; dest=${spec#*=}; [ "$dest" != "$spec" ] || dest=$(basename "$src")
  [ -x "$src" ] || { log "--bin $src: not an executable"; exit 1; }
  mkdir -p "$root/payload/$(dirname "$dest")"
  cp -L "$src" "$root/payload/$dest"
  # Debug info is never read in L1 and would only grow the initramfs L1 unpacks under TCG (the
  # static minivmm carries ~100 MiB of it).
  strip --strip-debug "$root/payload/$dest" 2>/dev/null || true
  # ldd lines: "libx.so => /path (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)".
  while read -r lib; do copy_lib "$lib"; done < <(ldd "$src" 2>/dev/null | grep -oE '/[^ ]+\.so[^ ]*' | sort -u)
done
for spec in "${files[@]}"; do
  src=${spec%%=*}; dest=${spec#*=}; [ "$dest" != "$spec" ] || dest=$(basename "$src")
  [ -f "$src" ] || { log "--file $src: no such file"; exit 1; }
  mkdir -p "$root/payload/$(dirname "$dest")"
  cp -L "$src" "$root/payload/$dest"
done

mkdir -p "$out"
cp "$kdir/vmlinuz" "$out/vmlinuz"
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc --owner=0:0) \
  | gzip -1 >"$out/l1.cpio.gz.tmp"
mv "$out/l1.cpio.gz.tmp" "$out/l1.cpio.gz"
log "L1 initramfs $out/l1.cpio.gz ($(du -k "$out/l1.cpio.gz" | cut -f1) KiB, payload: $(cd "$root/payload" && find . -type f | sed 's|^\./||' | tr '\n' ' '))"
echo "$out"
