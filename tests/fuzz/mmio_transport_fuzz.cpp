// libFuzzer target for MmioTransport: the input is a sequence of guest accesses (register and
// config-space reads and writes of any offset, width and value, plus writes into guest RAM so
// queues can hold real rings) against a transport driving a small synchronous device that
// processes queue 0 on every notify. Any crash, sanitizer report, or a device activated twice
// without a reset in between aborts.
//
// Input: { u8 kind, u16 offset, u8 width, u32 value } records. kind % 4: 0 read, 1 write,
// 2 write `value` to guest RAM at offset * 4, 3 signal the used queue and config change.
#include <sys/eventfd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <cstdlib>

#include "devices/virtio/mmio_transport.hpp"
#include "devices/virtio/ring_abi.hpp"
#include "tests/fuzz/fuzz_memory.hpp"

using namespace minivmm;
using namespace minivmm::virtio;

namespace {

class FuzzDevice : public VirtioDevice {
 public:
  uint32_t device_type() const override { return VIRTIO_ID_BLOCK; }
  uint64_t features() const override {
    return (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_EVENT_IDX) |
           (1ull << VIRTIO_RING_F_INDIRECT_DESC) | 0x5;
  }
  std::span<const uint16_t> queue_max_sizes() const override { return m_sizes; }
  size_t config_size() const override { return sizeof m_config; }
  void read_config(uint64_t offset, std::span<uint8_t> data) const override {
    if (offset + data.size() > sizeof m_config) std::abort();
    std::memcpy(data.data(), m_config + offset, data.size());
  }
  void write_config(uint64_t offset, std::span<const uint8_t> data) override {
    if (offset + data.size() > sizeof m_config) std::abort();
    std::memcpy(m_config + offset, data.data(), data.size());
  }
  Result<void> activate(Activation a) override {
    if (m_active) std::abort();  // double activation
    if ((m_config[0] & 0xf) == 0xf) return make_error(ErrorCode::invalid_state, "fuzz failure");
    m_active = true;
    m_memory = &a.memory;
    m_queues = std::move(a.queues);
    m_interrupt = a.interrupt;
    return {};
  }
  void reset() override {
    if (!m_active) std::abort();
    m_active = false;
    m_queues.clear();
    m_interrupt.reset();
  }
  void notify(uint16_t queue_index) override {
    if (!m_active || queue_index >= m_queues.size()) std::abort();
    SplitQueue& q = m_queues[queue_index];
    for (uint32_t i = 0; i < 2 * q.size() + 1; ++i) {
      PopResult r = q.pop(*m_memory);
      if (r.status == PopStatus::chain) {
        q.add_used(*m_memory, r.chain.head, 0);
      } else if (r.status == PopStatus::malformed && r.has_head_to_complete) {
        q.add_used(*m_memory, r.head_to_complete, 0);
      } else if (r.status == PopStatus::broken) {
        m_interrupt->signal_needs_reset();
        return;
      } else if (r.status == PopStatus::empty) {
        break;
      }
    }
    if (q.needs_notification(*m_memory)) m_interrupt->signal_used_queue();
  }

 private:
  uint16_t m_sizes[2] = {16, 256};
  uint8_t m_config[20] = {};
  bool m_active = false;
  const GuestMemory* m_memory = nullptr;
  std::vector<SplitQueue> m_queues;
  std::shared_ptr<VirtioInterrupt> m_interrupt;
};

EventFd make_event() {
  auto e = EventFd::create(EFD_NONBLOCK);
  if (!e) std::abort();
  return std::move(*e);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static boost::asio::io_context io;
  const GuestMemory& mem = fuzz::fuzz_memory();
  auto device = std::make_shared<FuzzDevice>();
  std::vector<EventFd> events;
  events.push_back(make_event());
  events.push_back(make_event());
  auto transport = MmioTransport::create({device, &mem, &io, {{0x7000, 0x200}}}, std::move(events),
                                         make_event());
  if (!transport) std::abort();
  MmioTransport& t = **transport;

  fuzz::InputReader in(data, size);
  for (int op = 0; op < 512 && in.left() >= 8; ++op) {
    uint8_t kind = in.take<uint8_t>();
    uint16_t offset = in.take<uint16_t>();
    uint8_t width_sel = in.take<uint8_t>();
    uint32_t value = in.take<uint32_t>();
    static constexpr size_t kWidths[] = {4, 1, 2, 8};
    size_t width = kWidths[width_sel % 4];
    uint64_t off = offset % MmioTransport::kWindowSize;
    if (off + width > MmioTransport::kWindowSize) off = MmioTransport::kWindowSize - width;
    uint8_t buf[8] = {};
    std::memcpy(buf, &value, sizeof value);
    switch (kind % 4) {
      case 0:
        t.read(off, std::span(buf, width));
        break;
      case 1:
        t.write(off, std::span<const uint8_t>(buf, width));
        break;
      case 2:
        mem.write_obj(uint64_t{offset} * 4, value);
        break;
      case 3:
        t.interrupt()->signal_used_queue();
        t.interrupt()->signal_config_change();
        break;
    }
  }
  return 0;
}
