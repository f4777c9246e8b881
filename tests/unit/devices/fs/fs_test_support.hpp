// Helpers for the virtio-fs unit tests: a test GuestMemory, FUSE request bytes (fuse_in_header
// plus a body), reading back a fuse_out_header, a device-side queue set laid out with
// MockSplitQueue, and a bump allocator for request buffers in guest memory. No production logic.
#pragma once

#include <linux/fuse.h>
#include <sys/eventfd.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "devices/virtio/split_queue.hpp"
#include "tests/support/mock_split_queue.hpp"
#include "vmm/memory/guest_memory.hpp"
#include "vmm/sys/event_fd.hpp"

namespace minivmm::fs::test {

using virtio::test::Buf;
using virtio::test::MockSplitQueue;

/// 4 MiB of RAM at guest-physical 0 in one region.
inline GuestMemory make_memory(uint64_t bytes = 4 << 20) {
  RegionSpec spec[] = {{0, bytes}};
  auto m = GuestMemory::create(spec);
  REQUIRE(m.has_value());
  return std::move(*m);
}

/// A FUSE request: fuse_in_header (len = whole request) followed by `body`.
inline std::vector<uint8_t> fuse_request(uint32_t opcode, uint64_t unique, uint64_t nodeid,
                                         const std::vector<uint8_t>& body = {}) {
  fuse_in_header h{};
  h.len = static_cast<uint32_t>(sizeof h + body.size());
  h.opcode = opcode;
  h.unique = unique;
  h.nodeid = nodeid;
  std::vector<uint8_t> out(sizeof h);
  std::memcpy(out.data(), &h, sizeof h);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

template <typename T>
std::vector<uint8_t> bytes_of(const T& v) {
  std::vector<uint8_t> b(sizeof v);
  std::memcpy(b.data(), &v, sizeof v);
  return b;
}

inline fuse_out_header read_out_header(const GuestMemory& mem, uint64_t gpa) {
  auto h = mem.read_obj<fuse_out_header>(gpa);
  REQUIRE(h.has_value());
  return *h;
}

/// Hands out 64-byte-aligned guest buffers from `next` upwards.
struct Arena {
  const GuestMemory& mem;
  uint64_t next;
  uint64_t put(const std::vector<uint8_t>& bytes) {
    uint64_t a = alloc(bytes.size());
    REQUIRE(mem.write(a, bytes));
    return a;
  }
  uint64_t alloc(uint64_t len, uint8_t fill = 0xee) {
    uint64_t a = next;
    next += (len + 63) & ~uint64_t{63};
    REQUIRE(mem.write(a, std::vector<uint8_t>(len, fill)));
    return a;
  }
};

/// Driver-side rings for `count` queues of `size` entries, 64 KiB apart from `base`, their
/// device-side SplitQueues (validated with `features`) and one kick EventFd per queue.
struct QueueSet {
  QueueSet(const GuestMemory& mem, size_t count, uint16_t size, uint64_t features,
           uint64_t base = 0x10000) {
    for (size_t i = 0; i < count; ++i) {
      drivers.emplace_back(mem, size, base + 0x10000 * i);
      queues.push_back(drivers.back().make_queue(features, size));
      auto e = EventFd::create(EFD_NONBLOCK);
      REQUIRE(e.has_value());
      kicks.push_back(std::move(*e));
    }
  }
  std::vector<MockSplitQueue> drivers;
  std::vector<virtio::SplitQueue> queues;
  std::vector<EventFd> kicks;
};

}  // namespace minivmm::fs::test
