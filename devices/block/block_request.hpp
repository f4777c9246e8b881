// BlockRequest: the pure virtio-blk request parser (virtio v1.2 5.2.6). It turns one popped
// DescriptorChain into either a validated request (type, sector, the guest data buffers in order,
// the status byte address, and for DISCARD / WRITE_ZEROES the copied segments) or a failure that
// names the status byte to write, or says none is usable. It copies the 16-byte header and each
// segment out of guest memory exactly once and validates the copies. It deliberately does no
// host I/O, writes nothing to the guest and knows nothing of queues, files or io_uring: the
// BlockEngine (block_device.hpp) executes what this file accepts.
#pragma once

#include <linux/virtio_blk.h>

#include <boost/container/small_vector.hpp>
#include <cstdint>
#include <optional>

#include <tl/expected.hpp>

#include "devices/virtio/descriptor_chain.hpp"
#include "vmm/memory/guest_memory.hpp"

namespace minivmm::block {

inline constexpr uint64_t kSectorSize = 512;
inline constexpr unsigned kSectorShift = 9;
/// Bytes of the device ID returned by GET_ID (virtio v1.2 5.2.6: 20 bytes, NUL padded).
inline constexpr uint32_t kIdBytes = VIRTIO_BLK_ID_BYTES;
/// Bytes of one DISCARD / WRITE_ZEROES segment (struct virtio_blk_discard_write_zeroes).
inline constexpr uint32_t kSegmentBytes = 16;
/// Bytes of the request header (struct virtio_blk_outhdr: type, reserved/ioprio, sector).
inline constexpr uint32_t kHeaderBytes = 16;

/// The device-side limits and negotiated features a request is checked against.
struct BlockLimits {
  uint64_t capacity_sectors = 0;
  bool read_only = false;
  bool discard = false;       ///< VIRTIO_BLK_F_DISCARD negotiated
  bool write_zeroes = false;  ///< VIRTIO_BLK_F_WRITE_ZEROES negotiated
  uint32_t max_discard_sectors = 0;
  uint32_t max_discard_seg = 0;
  uint32_t max_write_zeroes_sectors = 0;
  uint32_t max_write_zeroes_seg = 0;
};

/// The request types this device executes. Everything else (SCSI_CMD, GET_LIFETIME,
/// SECURE_ERASE, zoned commands, unknown values) is answered with UNSUPP by the parser.
enum class RequestType : uint32_t {
  in = VIRTIO_BLK_T_IN,
  out = VIRTIO_BLK_T_OUT,
  flush = VIRTIO_BLK_T_FLUSH,
  get_id = VIRTIO_BLK_T_GET_ID,
  discard = VIRTIO_BLK_T_DISCARD,
  write_zeroes = VIRTIO_BLK_T_WRITE_ZEROES,
};

/// The status byte values (virtio v1.2 5.2.6).
enum class BlockStatus : uint8_t {
  ok = VIRTIO_BLK_S_OK,
  ioerr = VIRTIO_BLK_S_IOERR,
  unsupp = VIRTIO_BLK_S_UNSUPP,
};

/// A guest buffer, a piece of one descriptor; [addr, addr+len) lies inside guest RAM because the
/// descriptor it came from was checked by SplitQueue::pop() (it may span two adjacent regions).
struct GuestBuffer {
  uint64_t addr = 0;
  uint32_t len = 0;
};

/// One validated DISCARD / WRITE_ZEROES range: inside the disk, no wrap.
struct SectorRange {
  uint64_t sector = 0;
  uint32_t num_sectors = 0;
  bool unmap = false;  ///< VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP (only for WRITE_ZEROES)
};

/// A request that passed every check.
struct BlockRequest {
  RequestType type = RequestType::in;
  uint64_t sector = 0;  ///< meaningful for IN / OUT
  /// IN / GET_ID: device-writable buffers; OUT: device-readable buffers (after the header).
  /// Empty for FLUSH, DISCARD and WRITE_ZEROES.
  boost::container::small_vector<GuestBuffer, 8> data;
  uint64_t data_len = 0;  ///< sum of data[].len
  uint64_t status_addr = 0;
  boost::container::small_vector<SectorRange, 1> ranges;  ///< DISCARD / WRITE_ZEROES only
};

/// A request the device must refuse. With a status address, write `status` there and return
/// the head with used length 1; without one, return the head with used length 0.
struct RequestFailure {
  std::optional<uint64_t> status_addr;
  BlockStatus status = BlockStatus::ioerr;
};

using ParsedRequest = tl::expected<BlockRequest, RequestFailure>;

/// Parses and validates one chain (virtio v1.2 5.2.6, 5.2.6.1, 5.2.6.2). Never fails hard: every
/// malformed chain becomes a RequestFailure. Layout accepted: the header is the first 16
/// device-readable bytes (it may be split across descriptors); the status is the last byte of the
/// last descriptor, which must be device-writable; the bytes between are the data. Copies the
/// header and segments from `mem` once.
ParsedRequest parse_block_request(const virtio::DescriptorChain& chain, const GuestMemory& mem,
                                  const BlockLimits& limits);

}  // namespace minivmm::block
