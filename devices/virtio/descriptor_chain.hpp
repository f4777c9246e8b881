// DescriptorChain: one request the driver made available on a split virtqueue, as the device
// sees it after SplitQueue::pop() has walked it (virtio v1.2 2.7.5, 2.7.5.3 indirect descriptors).
// Every descriptor was copied out of guest memory exactly once and validated (bounds against
// guest RAM, chain length, loops, indirect tables); zero-length descriptors are dropped. The
// buffers themselves stay in guest memory: devices copy through GuestMemory. This file holds
// only the value type; the walk lives in split_queue.cpp.
#pragma once

#include <boost/container/small_vector.hpp>
#include <cstdint>

namespace minivmm::virtio {

/// One guest buffer of a chain. [addr, addr+len) was checked to lie entirely inside guest RAM
/// when the chain was popped (it may span two adjacent RAM regions; use GuestMemory::read/write).
struct Descriptor {
  uint64_t addr = 0;
  uint32_t len = 0;
  bool device_writable = false;  ///< VIRTQ_DESC_F_WRITE: the device may write, never read it
};

struct DescriptorChain {
  uint16_t head = 0;  ///< index to hand back to add_used()
  /// In chain order. Per the spec, all device-readable descriptors precede all device-writable
  /// ones; pop() rejects chains that violate this.
  boost::container::small_vector<Descriptor, 8> descriptors;
  /// Sum of the readable / writable lengths (each capped by the walk at 2^32 - 1).
  uint64_t readable_len = 0;
  uint64_t writable_len = 0;
};

}  // namespace minivmm::virtio
