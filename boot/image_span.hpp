// Overflow-safe helpers for reading untrusted image files (kernel, initrd): checked addition and
// alignment, "does [off, off+len) lie inside the file", and copying a trivially-copyable header
// out of the file. Every offset or size taken from an image goes through these. They do not
// produce errors themselves: callers turn a failed check into one clear invalid_image message.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <type_traits>

namespace minivmm::boot {

/// a + b, or nullopt when it overflows 64 bits.
inline std::optional<uint64_t> checked_add(uint64_t a, uint64_t b) noexcept {
  uint64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}

/// a * b, or nullopt when it overflows 64 bits.
inline std::optional<uint64_t> checked_mul(uint64_t a, uint64_t b) noexcept {
  uint64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}

/// v rounded up to a multiple of align (a power of two), or nullopt on overflow.
inline std::optional<uint64_t> checked_align_up(uint64_t v, uint64_t align) noexcept {
  auto r = checked_add(v, align - 1);
  if (!r) return std::nullopt;
  return *r & ~(align - 1);
}

inline constexpr uint64_t align_down(uint64_t v, uint64_t align) noexcept {
  return v & ~(align - 1);
}

inline constexpr bool is_power_of_two(uint64_t v) noexcept {
  return v != 0 && (v & (v - 1)) == 0;
}

/// True when [off, off+len) lies inside file (overflow-safe).
inline bool in_file(std::span<const uint8_t> file, uint64_t off, uint64_t len) noexcept {
  return off <= file.size() && len <= file.size() - off;
}

/// True when [a, a+alen) and [b, b+blen) share a byte. Both ranges must not overflow.
inline constexpr bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b,
                                     uint64_t blen) noexcept {
  return alen != 0 && blen != 0 && a < b + blen && b < a + alen;
}

/// Copies a T out of file at off, or nullopt when it does not fit.
template <typename T>
std::optional<T> read_at(std::span<const uint8_t> file, uint64_t off) noexcept {
  static_assert(std::is_trivially_copyable_v<T>);
  if (!in_file(file, off, sizeof(T))) return std::nullopt;
  T v;
  std::memcpy(&v, file.data() + off, sizeof(T));
  return v;
}

}  // namespace minivmm::boot
