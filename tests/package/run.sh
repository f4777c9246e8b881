#!/usr/bin/env bash
# The packaging test: installs minivmm into a temporary prefix and uses it the way an embedder
# outside the tree would. Checks the installed files, the shared library's SONAME and that it
# exports only minivmm's public API (check_exports.py), then builds the consumers in consumer/
# (C++ and C) with find_package(minivmm) against libminivmm.so and libminivmm.a and with
# pkg-config (minivmm, minivmm-static), runs each (no /dev/kvm needed) and matches its output,
# and builds the C example examples/c/boot_guest.c against the package too.
#
# Usage: tests/package/run.sh [BUILD_DIR]. With BUILD_DIR (configured already, e.g. build/) it is
# brought up to date and installed from; without, a fresh build is made in the temporary
# directory. JOBS sets the build parallelism (default: nproc). Exits non-zero on any failure.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
here="$root/tests/package"
jobs=${JOBS:-$(nproc)}
work=$(mktemp -d "${TMPDIR:-/tmp}/minivmm-package.XXXXXX")
trap 'rm -rf "$work"' EXIT
failures=0

say() { echo "package: $*" >&2; }
fail() {
  say "FAILED: $*"
  failures=$((failures + 1))
}
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)

# --- Build and install -------------------------------------------------------------------------
if [ $# -ge 1 ]; then
  build=$(cd "$1" && pwd)
else
  build="$work/build"
  say "configuring a fresh build in $build"
  cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DMINIVMM_TESTS=OFF -DMINIVMM_BENCH=OFF >/dev/null
fi
say "building $build"
cmake --build "$build" -j"$jobs" >/dev/null
prefix="$work/prefix"
say "installing into $prefix"
cmake --install "$build" --prefix "$prefix" >"$work/install.log"

version=$(sed -nE 's/^project\(minivmm VERSION ([0-9.]+).*/\1/p' "$root/CMakeLists.txt")
so=$(find "$prefix" -name libminivmm.so -print -quit)
[ -n "$so" ] || {
  say "FAILED: no libminivmm.so under $prefix"
  exit 1
}
libdir=$(dirname "$so")

# --- Installed files ---------------------------------------------------------------------------
expect_file() { [ -e "$1" ] || fail "not installed: ${1#"$prefix"/}"; }
expect_file "$prefix/bin/minivmm"
expect_file "$libdir/libminivmm.a"
expect_file "$libdir/libminivmm.so.0"
expect_file "$libdir/libminivmm.so.$version"
expect_file "$libdir/cmake/minivmm/minivmmConfig.cmake"
expect_file "$libdir/cmake/minivmm/minivmmConfigVersion.cmake"
expect_file "$libdir/pkgconfig/minivmm.pc"
expect_file "$libdir/pkgconfig/minivmm-static.pc"
for header in "$root"/include/minivmm/*; do
  expect_file "$prefix/include/minivmm/$(basename "$header")"
done
[ -e "$root/include/minivmm/CONFIG.md" ] ||
  fail "include/minivmm/CONFIG.md (the JSON schema installed with the headers) does not exist"

# --- SONAME and exported symbols ---------------------------------------------------------------
soname=$(readelf -d "$so" | sed -nE 's/.*Library soname: \[(.*)\]/\1/p')
if [ "$soname" = "libminivmm.so.0" ]; then
  say "SONAME $soname"
else
  fail "SONAME is '$soname', expected libminivmm.so.0"
fi
nm -D --defined-only "$so" >"$work/exports.txt"
nm -D --defined-only -C "$so" >"$work/exports-demangled.txt"
python3 "$here/check_exports.py" "$work/exports.txt" "$work/exports-demangled.txt" \
  "$root/include/minivmm" || fail "exported symbols (see above)"

# --- Consumers ---------------------------------------------------------------------------------
run_consumer() {  # run_consumer LABEL EXECUTABLE: runs it and expects every check to pass
  local out
  if out=$("$2" 2>&1) && grep -q "all checks passed" <<<"$out"; then
    say "$1: passed ($(grep -c '^ok:' <<<"$out") checks)"
  else
    fail "$1"
    echo "$out" >&2
  fi
}
run_example() {  # run_example LABEL EXECUTABLE: boot_guest with a kernel that does not exist
  # Fails at create (no /dev/kvm here, or the missing kernel): exit 2 with the error on stderr.
  local out rc=0
  out=$("$2" --kernel "$work/no-such-vmlinux" 2>&1 >/dev/null) || rc=$?
  if [ "$rc" -eq 2 ] && [ -n "$out" ]; then
    say "$1: built; without a kernel it exits 2: $(head -n 1 <<<"$out")"
  else
    fail "$1: expected exit 2 and an error message, got exit $rc: $out"
  fi
}
expect_needed() {  # expect_needed LABEL EXECUTABLE yes|no: is libminivmm.so.0 a NEEDED entry?
  local found=no dynamic
  dynamic=$(readelf -d "$2")
  if grep -q 'Shared library: \[libminivmm.so.0\]' <<<"$dynamic"; then found=yes; fi
  [ "$found" = "$3" ] || fail "$1: NEEDED libminivmm.so.0 is '$found', expected '$3'"
}

c_example="$root/examples/c/boot_guest.c"
example_args=()
if [ -f "$c_example" ]; then
  example_args=(-DCONSUMER_C_EXAMPLE="$c_example")
else
  say "SKIPPED the C example: $c_example does not exist yet"
fi

for kind in shared static; do
  dir="$work/cmake-$kind"
  static=OFF
  [ "$kind" = static ] && static=ON
  say "find_package(minivmm) consumer against the $kind library"
  if cmake -S "$here/consumer" -B "$dir" "${generator[@]}" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCONSUMER_STATIC=$static "${example_args[@]}" >"$dir.log" 2>&1 &&
    cmake --build "$dir" -j"$jobs" >>"$dir.log" 2>&1; then
    needed=yes
    [ "$kind" = static ] && needed=no
    for exe in consumer_cpp consumer_c; do
      expect_needed "cmake $kind $exe" "$dir/$exe" "$needed"
      run_consumer "cmake $kind $exe" "$dir/$exe"
    done
    if [ -f "$c_example" ]; then run_example "cmake $kind C example" "$dir/c_example"; fi
  else
    fail "CMake consumer build against the $kind library"
    tail -n 40 "$dir.log" >&2
  fi
done

export PKG_CONFIG_PATH="$libdir/pkgconfig"
pc_version=$(pkg-config --modversion minivmm)
[ "$pc_version" = "$version" ] || fail "pkg-config --modversion minivmm: '$pc_version', expected $version"
pc_build() {  # pc_build LABEL PC_NAME OUTPUT COMPILER... SOURCE: compiles one file with pkg-config
  local label=$1 pc=$2 out=$3
  shift 3
  # shellcheck disable=SC2046  # pkg-config's flags are meant to be split
  if "$@" -o "$out" $(pkg-config --cflags --libs "$pc") -Wl,-rpath,"$libdir" 2>"$out.log"; then
    return 0
  fi
  fail "$label: compile/link"
  cat "$out.log" >&2
  return 1
}
say "pkg-config consumers"
pc_build "pkg-config minivmm C++" minivmm "$work/pc_cpp" \
  c++ -std=c++20 -Wall -Wextra -Werror "$here/consumer/consumer.cpp" &&
  expect_needed "pkg-config C++" "$work/pc_cpp" yes && run_consumer "pkg-config C++" "$work/pc_cpp"
pc_build "pkg-config minivmm C" minivmm "$work/pc_c" \
  cc -std=c99 -Wall -Wextra -Wpedantic -Werror "$here/consumer/consumer.c" &&
  expect_needed "pkg-config C" "$work/pc_c" yes && run_consumer "pkg-config C" "$work/pc_c"
pc_build "pkg-config minivmm-static C" minivmm-static "$work/pc_c_static" \
  cc -std=c99 -Wall -Wextra -Wpedantic -Werror "$here/consumer/consumer.c" &&
  expect_needed "pkg-config static C" "$work/pc_c_static" no &&
  run_consumer "pkg-config static C" "$work/pc_c_static"
if [ -f "$c_example" ]; then
  pc_build "pkg-config C example" minivmm "$work/pc_example" \
    cc -std=c99 -Wall -Wextra -Wpedantic -Werror "$c_example" &&
    run_example "pkg-config C example" "$work/pc_example"
fi

if [ "$failures" -eq 0 ]; then
  say "all package checks passed"
else
  say "$failures package checks FAILED"
  exit 1
fi
