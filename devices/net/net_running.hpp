// NetDevice::Running: the state of one activation on the machine's event loop (internal to
// devices/net, shared by net_device.cpp, net_rx.cpp and net_tx.cpp). It owns the two queues, the
// asio descriptors on dups of the queue eventfds and the tap, the host staging buffers (one TX
// frame, one RX frame), the RX chains gathered for the pending frame, and the counters. Every
// member is touched only under `mu`; reset() sets `stopped` under `mu`, after which no handler
// touches guest memory. It does not decide features or config space (net_device.cpp).
#pragma once

#include <boost/asio/posix/stream_descriptor.hpp>
#include <memory>
#include <mutex>
#include <vector>

#include "devices/net/net_device.hpp"
#include "devices/net/vnet_header.hpp"

namespace minivmm::net {

struct NetDevice::Running : std::enable_shared_from_this<Running> {
  Running(virtio::Activation& a, NetDevice& device, uint32_t budget_);

  // --- loop plumbing (net_device.cpp) ---
  void arm_kick(uint16_t queue);
  void arm_tap_read();
  void arm_tap_error();
  void post(uint16_t queue);
  void notify(uint16_t queue);
  void tap_failed(const char* operation, int error);
  bool link_up() const noexcept { return dev.link_up(); }

  // --- transmit (net_tx.cpp) ---
  void process_tx();
  void transmit(const virtio::DescriptorChain& chain);
  void send_to_tap(size_t len);

  // --- receive (net_rx.cpp) ---
  enum class ReadResult { frame, skipped, stop };
  void process_rx();
  ReadResult read_from_tap();
  bool deliver_pending();
  void write_pending();

  std::mutex mu;
  bool stopped = false;
  NetDevice& dev;  ///< outlives every use: handlers return early once `stopped`
  const GuestMemory& mem;
  boost::asio::io_context& io;
  std::array<virtio::SplitQueue, 2> queues;
  std::shared_ptr<virtio::VirtioInterrupt> irq;
  std::array<const EventFd*, 2> events;  ///< owned by the transport until reset() returns
  std::array<boost::asio::posix::stream_descriptor, 2> kicks;  ///< dups of `events`
  boost::asio::posix::stream_descriptor tap_wait;              ///< a dup of the tap fd
  uint64_t acked = 0;
  uint32_t budget = 0;
  std::array<bool, 2> used_added{};
  std::array<bool, 2> posted{};
  bool tap_read_armed = false;
  NetCounters counters;
  RateLimiter guest_log{5};

  std::vector<uint8_t> tx_buf;  ///< kMaxFrameLen bytes
  std::vector<uint8_t> rx_buf;  ///< kMaxFrameLen bytes
  size_t rx_len = 0;            ///< bytes of the pending RX frame in rx_buf; 0: none
  std::vector<virtio::DescriptorChain> rx_chains;  ///< popped for the pending frame
  uint64_t rx_capacity = 0;                        ///< writable bytes of rx_chains
};

}  // namespace minivmm::net
