// The virtio-blk request parser (virtio v1.2 5.2.6). Every value read here from the chain or from
// guest memory is guest-controlled: the header and segments are copied once into host arrays and
// only the copies are validated and used. Descriptor bounds were checked by SplitQueue::pop();
// this file only re-splits descriptors into header / data / status pieces by length arithmetic
// done in 64 bits, so no sum can wrap. It performs no host I/O and never writes guest memory.
#include "devices/block/block_request.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <span>

namespace minivmm::block {
namespace {

using Buffers = boost::container::small_vector<GuestBuffer, 8>;

tl::unexpected<RequestFailure> fail(uint64_t status_addr, BlockStatus s) {
  return tl::unexpected(RequestFailure{status_addr, s});
}

uint64_t total_len(const Buffers& bufs) {
  uint64_t n = 0;
  for (const auto& b : bufs) n += b.len;  // at most 2^16 descriptors of < 2^32 bytes: no wrap
  return n;
}

/// Drops the first `n` bytes of `bufs` (n <= total_len(bufs)).
Buffers skip_bytes(const Buffers& bufs, uint64_t n) {
  Buffers out;
  for (const auto& b : bufs) {
    if (n >= b.len) {
      n -= b.len;
      continue;
    }
    out.push_back({b.addr + n, static_cast<uint32_t>(b.len - n)});
    n = 0;
  }
  return out;
}

/// Copies out.size() bytes starting `skip` bytes into `bufs`; false when they are not all there
/// or guest memory refuses a read.
bool gather(const GuestMemory& mem, const Buffers& bufs, uint64_t skip, std::span<uint8_t> out) {
  size_t done = 0;
  for (const auto& b : skip_bytes(bufs, skip)) {
    if (done == out.size()) break;
    size_t n = std::min<size_t>(b.len, out.size() - done);
    if (!mem.read(b.addr, out.subspan(done, n))) return false;
    done += n;
  }
  return done == out.size();
}

template <typename T>
T load_le(const uint8_t* p) {
  static_assert(std::endian::native == std::endian::little);
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

/// Keeps only the first `limit` bytes of `bufs`.
Buffers truncate(const Buffers& bufs, uint64_t limit) {
  Buffers out;
  for (const auto& b : bufs) {
    if (limit == 0) break;
    uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(b.len, limit));
    out.push_back({b.addr, n});
    limit -= n;
  }
  return out;
}

/// The chain split into its device-readable bytes, device-writable data bytes and status byte.
struct Layout {
  Buffers readable;
  Buffers writable;  ///< excludes the status byte
  uint64_t status_addr = 0;
  bool misordered = false;  ///< a readable descriptor followed a writable one
};

std::optional<Layout> split_chain(const virtio::DescriptorChain& chain) {
  if (chain.descriptors.empty()) return std::nullopt;
  const auto& last = chain.descriptors.back();
  // Guest-controlled: the status descriptor must exist, be device-writable and hold >= 1 byte.
  if (!last.device_writable || last.len == 0) return std::nullopt;
  Layout l;
  l.status_addr = last.addr + last.len - 1;  // addr + len was bounds-checked by pop()
  bool seen_writable = false;
  for (const auto& d : chain.descriptors) {
    if (d.len == 0) continue;
    if (d.device_writable) {
      seen_writable = true;
      uint32_t len = (&d == &last) ? d.len - 1 : d.len;
      if (len != 0) l.writable.push_back({d.addr, len});
    } else {
      // Guest-controlled: readable after writable breaks virtio v1.2 2.7.4.2; refused below.
      if (seen_writable) l.misordered = true;
      l.readable.push_back({d.addr, d.len});
    }
  }
  return l;
}

/// sector + len/512 must stay within the disk; overflow-safe.
bool in_capacity(uint64_t sector, uint64_t num_sectors, uint64_t capacity) {
  return sector <= capacity && num_sectors <= capacity - sector;
}

ParsedRequest parse_rw(BlockRequest req, const Buffers& data, const BlockLimits& limits) {
  req.data = data;
  req.data_len = total_len(data);
  // Guest-controlled: data length must be whole sectors and inside the disk.
  if (req.data_len % kSectorSize != 0 ||
      !in_capacity(req.sector, req.data_len >> kSectorShift, limits.capacity_sectors)) {
    return fail(req.status_addr, BlockStatus::ioerr);
  }
  return req;
}

/// Checks one copied segment; nullopt when it is acceptable.
std::optional<BlockStatus> check_segment(const SectorRange& r, uint32_t flags, RequestType type,
                                         const BlockLimits& limits) {
  const bool discard = type == RequestType::discard;
  // Guest-controlled: flags must be known; DISCARD must not set UNMAP (virtio v1.2 5.2.6.2).
  if ((flags & ~uint32_t{VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP}) != 0 || (discard && r.unmap)) {
    return BlockStatus::unsupp;
  }
  uint32_t max = discard ? limits.max_discard_sectors : limits.max_write_zeroes_sectors;
  // Guest-controlled: num_sectors bounded by the advertised maximum and the capacity.
  if (r.num_sectors > max || !in_capacity(r.sector, r.num_sectors, limits.capacity_sectors)) {
    return BlockStatus::ioerr;
  }
  return std::nullopt;
}

ParsedRequest parse_segments(const GuestMemory& mem, BlockRequest req, const Buffers& data,
                             const BlockLimits& limits) {
  const bool discard = req.type == RequestType::discard;
  uint64_t len = total_len(data);
  uint32_t max_seg = discard ? limits.max_discard_seg : limits.max_write_zeroes_seg;
  // Guest-controlled: whole segments, at least one, at most max_seg (bounds the copy below).
  if (len == 0 || len % kSegmentBytes != 0 || len / kSegmentBytes > max_seg) {
    return fail(req.status_addr, BlockStatus::ioerr);
  }
  for (uint64_t off = 0; off < len; off += kSegmentBytes) {
    std::array<uint8_t, kSegmentBytes> raw{};
    if (!gather(mem, data, off, raw)) return fail(req.status_addr, BlockStatus::ioerr);
    uint32_t flags = load_le<uint32_t>(raw.data() + 12);
    SectorRange r{load_le<uint64_t>(raw.data()), load_le<uint32_t>(raw.data() + 8),
                  (flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) != 0};
    if (auto bad = check_segment(r, flags, req.type, limits)) return fail(req.status_addr, *bad);
    req.ranges.push_back(r);
  }
  return req;
}

ParsedRequest parse_by_type(const GuestMemory& mem, BlockRequest req, const Layout& l,
                            const BlockLimits& limits) {
  const Buffers rdata = skip_bytes(l.readable, kHeaderBytes);
  const bool writes_disk = req.type == RequestType::out || req.type == RequestType::discard ||
                           req.type == RequestType::write_zeroes;
  // Any write to a read-only disk is IOERR whatever was negotiated (virtio v1.2 5.2.6.2).
  if (writes_disk && limits.read_only) return fail(req.status_addr, BlockStatus::ioerr);
  switch (req.type) {
    case RequestType::in:
      // Guest-controlled: IN data must all be device-writable.
      if (!rdata.empty()) return fail(req.status_addr, BlockStatus::ioerr);
      return parse_rw(std::move(req), l.writable, limits);
    case RequestType::out:
      // Guest-controlled: OUT data must all be device-readable.
      if (!l.writable.empty()) return fail(req.status_addr, BlockStatus::ioerr);
      return parse_rw(std::move(req), rdata, limits);
    case RequestType::flush:
      return req;  // sector and any data are ignored (virtio v1.2 5.2.6)
    case RequestType::get_id:
      // Guest-controlled: a device-writable buffer of at least 20 bytes, else IOERR.
      if (!rdata.empty() || total_len(l.writable) < kIdBytes) {
        return fail(req.status_addr, BlockStatus::ioerr);
      }
      req.data = truncate(l.writable, kIdBytes);
      req.data_len = kIdBytes;
      return req;
    case RequestType::discard:
    case RequestType::write_zeroes: {
      bool negotiated = req.type == RequestType::discard ? limits.discard : limits.write_zeroes;
      if (!negotiated) return fail(req.status_addr, BlockStatus::unsupp);
      if (!l.writable.empty()) return fail(req.status_addr, BlockStatus::ioerr);
      return parse_segments(mem, std::move(req), rdata, limits);
    }
  }
  return fail(req.status_addr, BlockStatus::unsupp);
}

bool known_type(uint32_t t) {
  switch (t) {
    case VIRTIO_BLK_T_IN:
    case VIRTIO_BLK_T_OUT:
    case VIRTIO_BLK_T_FLUSH:
    case VIRTIO_BLK_T_GET_ID:
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES:
      return true;
    default:
      return false;
  }
}

}  // namespace

ParsedRequest parse_block_request(const virtio::DescriptorChain& chain, const GuestMemory& mem,
                                  const BlockLimits& limits) {
  auto layout = split_chain(chain);
  if (!layout) return tl::unexpected(RequestFailure{std::nullopt, BlockStatus::ioerr});
  if (layout->misordered) return fail(layout->status_addr, BlockStatus::ioerr);
  std::array<uint8_t, kHeaderBytes> hdr{};
  // Guest-controlled: the header must be 16 readable bytes; copied once, then decoded.
  if (!gather(mem, layout->readable, 0, hdr)) return fail(layout->status_addr, BlockStatus::ioerr);
  uint32_t type = load_le<uint32_t>(hdr.data());
  // Guest-controlled: only the six executed types pass; SCSI_CMD and the rest are UNSUPP.
  if (!known_type(type)) return fail(layout->status_addr, BlockStatus::unsupp);
  BlockRequest req;
  req.type = static_cast<RequestType>(type);
  req.sector = load_le<uint64_t>(hdr.data() + 8);  // Guest-controlled: checked in parse_rw
  req.status_addr = layout->status_addr;
  return parse_by_type(mem, std::move(req), *layout, limits);
}

}  // namespace minivmm::block
