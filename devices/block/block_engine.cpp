// BlockEngine: from a parsed request to DiskFile jobs and back to a status byte. Data buffers
// become host iovecs through GuestMemory::slice, one per RAM region a buffer touches, so a
// descriptor spanning two regions becomes two iovecs and nothing is copied. The status byte is
// written only after the disk finished with the buffers.
#include "devices/block/block_engine.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <limits>

namespace minivmm::block {
namespace {

/// Appends host iovecs covering guest [addr, addr+len); false when any byte is not RAM.
bool append_host_iovecs(const GuestMemory& mem, uint64_t addr, uint64_t len,
                        boost::container::small_vector<iovec, 8>& out) {
  while (len > 0) {
    const GuestRegion* region = nullptr;
    for (const auto& r : mem.regions()) {
      if (addr >= r.gpa && addr < r.end()) region = &r;
    }
    if (region == nullptr) return false;
    uint64_t n = std::min(len, region->end() - addr);
    auto host = mem.slice(addr, n);
    if (!host) return false;
    out.push_back({host->data(), host->size()});
    addr += n;
    len -= n;
  }
  return true;
}

uint32_t clamp_used(uint64_t n) {
  return static_cast<uint32_t>(std::min<uint64_t>(n, std::numeric_limits<uint32_t>::max()));
}

}  // namespace

BlockEngine::BlockEngine(const GuestMemory& mem, DiskFile& disk, uint32_t max_in_flight,
                         CompleteFn on_complete)
    : m_mem(mem), m_disk(disk), m_on_complete(std::move(on_complete)), m_slots(max_in_flight) {
  m_free.reserve(max_in_flight);
  for (uint32_t i = max_in_flight; i > 0; --i) m_free.push_back(i - 1);
  m_reaped.reserve(max_in_flight);
}

BlockEngine::~BlockEngine() = default;

void BlockEngine::finish(uint16_t head, std::optional<uint64_t> status_addr, BlockStatus status,
                         uint32_t used_len) {
  if (status == BlockStatus::ioerr) ++m_counters.ioerr;
  if (status == BlockStatus::unsupp) ++m_counters.unsupp;
  // Guest-controlled: status_addr lies in a device-writable descriptor checked by pop(); the
  // write goes through GuestMemory, which refuses anything outside RAM.
  if (!status_addr || !m_mem.write_obj(*status_addr, static_cast<uint8_t>(status))) {
    ++m_counters.no_status;
    used_len = 0;
  }
  m_on_complete(head, used_len);
}

void BlockEngine::complete_get_id(const BlockRequest& req, uint16_t head) {
  const auto& serial = m_disk.serial();
  size_t done = 0;
  // Guest-controlled: the parser truncated the writable buffers to exactly 20 bytes.
  for (const auto& b : req.data) {
    std::span<const uint8_t> part(serial.data() + done, b.len);
    if (!m_mem.write(b.addr, part)) {
      finish(head, req.status_addr, BlockStatus::ioerr, 1);
      return;
    }
    done += b.len;
  }
  finish(head, req.status_addr, BlockStatus::ok, kIdBytes + 1);
}

bool BlockEngine::build_io(const BlockRequest& req, IoRequest& io) const {
  switch (req.type) {
    case RequestType::in:
    case RequestType::out:
      io.op = req.type == RequestType::in ? IoOp::read : IoOp::write;
      io.offset = req.sector << kSectorShift;  // sector <= capacity, which came from a byte size
      // Guest-controlled: each buffer is sliced region by region; a byte outside RAM fails it.
      for (const auto& b : req.data) {
        if (!append_host_iovecs(m_mem, b.addr, b.len, io.iov)) return false;
      }
      return true;
    case RequestType::flush:
      io.op = IoOp::flush;
      return true;
    case RequestType::discard:
    case RequestType::write_zeroes:
      io.op = req.type == RequestType::discard ? IoOp::discard : IoOp::write_zeroes;
      for (const auto& r : req.ranges) {
        io.ranges.push_back({r.sector << kSectorShift, uint64_t{r.num_sectors} << kSectorShift});
      }
      return true;
    case RequestType::get_id:
      return false;
  }
  return false;
}

void BlockEngine::handle(const virtio::DescriptorChain& chain, const BlockLimits& limits) {
  MINIVMM_ASSERT(has_room(), "BlockEngine::handle without room");
  ++m_counters.requests;
  ParsedRequest parsed = parse_block_request(chain, m_mem, limits);
  if (!parsed) {
    finish(chain.head, parsed.error().status_addr, parsed.error().status, 1);
    return;
  }
  const BlockRequest& req = *parsed;
  if (req.type == RequestType::get_id) {
    complete_get_id(req, chain.head);
    return;
  }
  IoRequest io;
  if (!build_io(req, io)) {
    finish(chain.head, req.status_addr, BlockStatus::ioerr, 1);
    return;
  }
  uint32_t slot = m_free.back();
  m_slots[slot] =
      Slot{chain.head, req.status_addr,
           req.type == RequestType::in ? clamp_used(req.data_len + 1) : 1, req.type, req.data_len};
  if (!m_disk.submit(slot, std::move(io))) {
    finish(chain.head, req.status_addr, BlockStatus::ioerr, 1);
    return;
  }
  m_free.pop_back();
}

size_t BlockEngine::process_completions() {
  m_reaped.clear();
  m_disk.reap(m_reaped);
  for (const auto& c : m_reaped) {
    uint32_t slot_index = static_cast<uint32_t>(c.tag);
    Slot s = m_slots[slot_index];
    m_free.push_back(slot_index);
    if (c.error == 0 && s.type == RequestType::in) m_counters.bytes_read += s.data_len;
    if (c.error == 0 && s.type == RequestType::out) m_counters.bytes_written += s.data_len;
    BlockStatus status = c.error == 0 ? BlockStatus::ok : BlockStatus::ioerr;
    // A host I/O error (ENOSPC, EIO...) is the operator's business too: say so, rate-limited.
    if (c.error != 0) ++m_counters.host_errors;
    if (c.error != 0 && m_host_error_log.allow())
      spdlog::warn(
          "virtio-blk: host I/O error on a type {} request of {} bytes: {} (guest gets IOERR)",
          static_cast<uint32_t>(s.type), s.data_len, std::strerror(c.error));
    finish(s.head, s.status_addr, status, c.error == 0 ? s.ok_used_len : 1);
  }
  return m_reaped.size();
}

void BlockEngine::reset() {
  m_reaped.clear();
  m_disk.drain(m_reaped);
  m_reaped.clear();
  m_free.clear();
  for (uint32_t i = static_cast<uint32_t>(m_slots.size()); i > 0; --i) m_free.push_back(i - 1);
}

}  // namespace minivmm::block
