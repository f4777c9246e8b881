// BlockEngine: executes virtio-blk requests. It parses a popped chain (block_request.hpp),
// answers what needs no disk I/O at once (malformed requests, GET_ID), submits the rest to the
// DiskFile with host iovecs pointing straight into guest RAM, and on completion writes the status
// byte through GuestMemory and reports (head, used_len) through a callback. It keeps at most
// `max_in_flight` requests (the queue size) in fixed slots, so a full ring costs bounded memory.
// It deliberately does not touch the virtqueue, eventfds or interrupts: the BlockDevice pops
// chains, checks has_room() and turns the callback into add_used() and notifications.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "devices/block/block_request.hpp"
#include "devices/block/disk_file.hpp"
#include "devices/virtio/descriptor_chain.hpp"
#include "vmm/memory/guest_memory.hpp"
#include "vmm/sys/rate_limit.hpp"

namespace minivmm::block {

/// What the engine has done so far (a snapshot).
struct BlockCounters {
  uint64_t requests = 0;       ///< chains handed to handle()
  uint64_t ioerr = 0;          ///< completed with VIRTIO_BLK_S_IOERR
  uint64_t unsupp = 0;         ///< completed with VIRTIO_BLK_S_UNSUPP
  uint64_t no_status = 0;      ///< returned with used length 0 (no usable status byte)
  uint64_t bytes_read = 0;     ///< IN data bytes completed OK
  uint64_t bytes_written = 0;  ///< OUT data bytes completed OK
  uint64_t host_errors = 0;    ///< requests the host failed (EIO, ENOSPC...): also in ioerr

  BlockCounters& operator+=(const BlockCounters& o) noexcept {
    requests += o.requests;
    ioerr += o.ioerr;
    unsupp += o.unsupp;
    no_status += o.no_status;
    bytes_read += o.bytes_read;
    bytes_written += o.bytes_written;
    host_errors += o.host_errors;
    return *this;
  }
};

class BlockEngine {
 public:
  /// Called once per finished request with the chain head and the bytes written into guest
  /// buffers (IN data or the 20 GET_ID bytes, plus the status byte; 0 without a status byte).
  using CompleteFn = std::function<void(uint16_t head, uint32_t used_len)>;

  /// `mem` and `disk` must outlive the engine; `disk` must accept >= max_in_flight jobs. The
  /// destructor does not wait for the disk: call reset() first when requests may be in flight.
  BlockEngine(const GuestMemory& mem, DiskFile& disk, uint32_t max_in_flight,
              CompleteFn on_complete);
  ~BlockEngine();
  BlockEngine(const BlockEngine&) = delete;
  BlockEngine& operator=(const BlockEngine&) = delete;

  /// True when handle() may be called (fewer than max_in_flight requests in flight).
  bool has_room() const noexcept { return !m_free.empty(); }
  size_t in_flight() const noexcept { return m_slots.size() - m_free.size(); }
  /// Parses and starts one request. Requests that need no disk I/O complete (the callback runs)
  /// before this returns. Precondition: has_room().
  void handle(const virtio::DescriptorChain& chain, const BlockLimits& limits);
  /// Reaps the disk's finished jobs: writes each status byte and runs the callback. Returns how
  /// many requests completed. Never blocks.
  size_t process_completions();
  /// Device reset: blocks until the disk has no job in flight, then forgets every request
  /// without writing guest memory or running the callback.
  void reset();

  BlockCounters counters() const noexcept { return m_counters; }

 private:
  struct Slot {
    uint16_t head = 0;
    uint64_t status_addr = 0;
    uint32_t ok_used_len = 1;
    RequestType type = RequestType::in;
    uint64_t data_len = 0;
  };
  void finish(uint16_t head, std::optional<uint64_t> status_addr, BlockStatus status,
              uint32_t used_len);
  void complete_get_id(const BlockRequest& req, uint16_t head);
  bool build_io(const BlockRequest& req, IoRequest& io) const;

  const GuestMemory& m_mem;
  DiskFile& m_disk;
  CompleteFn m_on_complete;
  std::vector<Slot> m_slots;
  std::vector<uint32_t> m_free;
  std::vector<IoCompletion> m_reaped;  ///< reused buffer, capacity max_in_flight
  BlockCounters m_counters;
  RateLimiter m_host_error_log{5};
};

}  // namespace minivmm::block
