// Implementation of MmioTransport (virtio v1.2 4.2.2 register layout, 4.2.3 initialization,
// 3.1.1 status sequence, 2.1 status bits). Register accesses must be 4 bytes and 4-aligned
// (4.2.2.2); anything else, undefined offsets and writes to read-only registers are ignored and
// read as 0. Every offset, width and value arriving here is guest-controlled.
#include "devices/virtio/mmio_transport.hpp"

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "vmm/sys/rate_limit.hpp"

namespace minivmm::virtio {
namespace {

constexpr uint32_t kAck = VIRTIO_CONFIG_S_ACKNOWLEDGE;
constexpr uint32_t kDriver = VIRTIO_CONFIG_S_DRIVER;
constexpr uint32_t kFeaturesOk = VIRTIO_CONFIG_S_FEATURES_OK;
constexpr uint32_t kDriverOk = VIRTIO_CONFIG_S_DRIVER_OK;
constexpr uint32_t kFailed = VIRTIO_CONFIG_S_FAILED;
constexpr uint32_t kNeedsReset = VIRTIO_CONFIG_S_NEEDS_RESET;
constexpr uint64_t kVersion1 = 1ull << VIRTIO_F_VERSION_1;
/// The states a driver may move through, in order (3.1.1 steps 1-8).
constexpr uint32_t kSequence[] = {kAck, kAck | kDriver, kAck | kDriver | kFeaturesOk,
                                  kAck | kDriver | kFeaturesOk | kDriverOk};

RateLimiter& log_limit() {
  static RateLimiter limiter{10};
  return limiter;
}

bool in_sequence(uint32_t status) {
  return std::find(std::begin(kSequence), std::end(kSequence), status) != std::end(kSequence);
}

uint32_t low(uint64_t v) {
  return static_cast<uint32_t>(v);
}
uint32_t high(uint64_t v) {
  return static_cast<uint32_t>(v >> 32);
}
uint64_t set_low(uint64_t v, uint32_t x) {
  return (v & ~0xffff'ffffull) | x;
}
uint64_t set_high(uint64_t v, uint32_t x) {
  return (v & 0xffff'ffffull) | (uint64_t{x} << 32);
}

}  // namespace

Result<std::shared_ptr<MmioTransport>> MmioTransport::create(MmioTransportParams params,
                                                             std::vector<EventFd> queue_events,
                                                             EventFd irq) {
  if (!params.device || params.memory == nullptr || params.io == nullptr)
    return make_error(ErrorCode::invalid_config, "virtio-mmio: missing device, memory or io");
  const VirtioDevice& dev = *params.device;
  if (!(dev.features() & kVersion1))
    return make_error(ErrorCode::invalid_config, "virtio-mmio: device type {} lacks VERSION_1",
                      dev.device_type());
  auto sizes = dev.queue_max_sizes();
  if (queue_events.size() != sizes.size())
    return make_error(ErrorCode::invalid_config, "virtio-mmio: {} queue eventfds for {} queues",
                      queue_events.size(), sizes.size());
  for (uint16_t s : sizes)
    if (s == 0 || s > kMaxQueueSize)
      return make_error(ErrorCode::invalid_config, "virtio-mmio: queue max size {} invalid", s);
  if (dev.config_size() > kWindowSize - kConfigOffset)
    return make_error(ErrorCode::invalid_config, "virtio-mmio: config space of {} bytes too big",
                      dev.config_size());
  return std::shared_ptr<MmioTransport>(
      new MmioTransport(std::move(params), std::move(queue_events), std::move(irq)));
}

MmioTransport::MmioTransport(MmioTransportParams params, std::vector<EventFd> queue_events,
                             EventFd irq)
    : m_device(std::move(params.device)),
      m_memory(*params.memory),
      m_io(*params.io),
      m_queue_events(std::move(queue_events)),
      m_forbidden(std::move(params.forbidden)),
      m_interrupt(std::make_shared<VirtioInterrupt>(std::move(irq))),
      m_device_features(m_device->features()),
      m_queues(fresh_queues()) {}

MmioTransport::~MmioTransport() {
  std::lock_guard lock(m_mutex);
  if (m_activated) m_device->reset();
}

void MmioTransport::refresh_device_features() {
  std::lock_guard lock(m_mutex);
  m_device_features = m_device->features();
}

std::vector<SplitQueue> MmioTransport::fresh_queues() const {
  std::vector<SplitQueue> queues;
  for (uint16_t max : m_device->queue_max_sizes()) queues.emplace_back(max);
  return queues;
}

uint32_t MmioTransport::status() const {
  std::lock_guard lock(m_mutex);
  return status_locked();
}

bool MmioTransport::activated() const {
  std::lock_guard lock(m_mutex);
  return m_activated;
}

uint32_t MmioTransport::status_locked() const {
  return m_status | (m_interrupt->needs_reset() ? kNeedsReset : 0);
}

SplitQueue* MmioTransport::selected_queue() {
  // Guest-controlled: QueueSel, checked against the queue count.
  return m_queue_sel < m_queues.size() ? &m_queues[m_queue_sel] : nullptr;
}

const SplitQueue* MmioTransport::selected_queue() const {
  return m_queue_sel < m_queues.size() ? &m_queues[m_queue_sel] : nullptr;
}

void MmioTransport::read(uint64_t offset, std::span<uint8_t> data) {
  std::lock_guard lock(m_mutex);
  if (offset >= kConfigOffset) return read_config(offset - kConfigOffset, data);
  std::fill(data.begin(), data.end(), uint8_t{0});
  // Guest-controlled: width and alignment; registers are 32-bit only (4.2.2.2).
  if (data.size() != 4 || offset % 4 != 0) return;
  uint32_t v = read_register(offset);
  std::memcpy(data.data(), &v, sizeof v);
}

void MmioTransport::write(uint64_t offset, std::span<const uint8_t> data) {
  std::lock_guard lock(m_mutex);
  if (offset >= kConfigOffset) return write_config(offset - kConfigOffset, data);
  if (data.size() != 4 || offset % 4 != 0) return;
  uint32_t v = 0;
  std::memcpy(&v, data.data(), sizeof v);
  write_register(offset, v);
}

uint32_t MmioTransport::read_register(uint64_t offset) const {
  const SplitQueue* q = selected_queue();
  switch (offset) {
    case VIRTIO_MMIO_MAGIC_VALUE:
      return kMagic;
    case VIRTIO_MMIO_VERSION:
      return kVersion;
    case VIRTIO_MMIO_DEVICE_ID:
      return m_device->device_type();
    case VIRTIO_MMIO_VENDOR_ID:
      return kVendorId;
    case VIRTIO_MMIO_DEVICE_FEATURES:
      // Guest-controlled: DeviceFeaturesSel; only words 0 and 1 exist.
      if (m_device_features_sel == 0) return low(m_device_features);
      if (m_device_features_sel == 1) return high(m_device_features);
      return 0;
    case VIRTIO_MMIO_QUEUE_NUM_MAX:
      return q ? q->max_size() : 0;
    case VIRTIO_MMIO_QUEUE_NUM:
      return q ? q->size() : 0;
    case VIRTIO_MMIO_QUEUE_READY:
      return q && q->ready() ? 1 : 0;
    case VIRTIO_MMIO_QUEUE_DESC_LOW:
      return q ? low(q->desc_table()) : 0;
    case VIRTIO_MMIO_QUEUE_DESC_HIGH:
      return q ? high(q->desc_table()) : 0;
    case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
      return q ? low(q->avail_ring()) : 0;
    case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
      return q ? high(q->avail_ring()) : 0;
    case VIRTIO_MMIO_QUEUE_USED_LOW:
      return q ? low(q->used_ring()) : 0;
    case VIRTIO_MMIO_QUEUE_USED_HIGH:
      return q ? high(q->used_ring()) : 0;
    case VIRTIO_MMIO_INTERRUPT_STATUS:
      return m_interrupt->status();
    case VIRTIO_MMIO_STATUS:
      return status_locked();
    case VIRTIO_MMIO_CONFIG_GENERATION:
      return m_interrupt->config_generation();
    // No shared memory regions: a length (and base) of -1 means "no such region" (4.2.2).
    case VIRTIO_MMIO_SHM_LEN_LOW:
    case VIRTIO_MMIO_SHM_LEN_HIGH:
    case VIRTIO_MMIO_SHM_BASE_LOW:
    case VIRTIO_MMIO_SHM_BASE_HIGH:
      return 0xffff'ffff;
    default:
      return 0;
  }
}

void MmioTransport::write_register(uint64_t offset, uint32_t value) {
  switch (offset) {
    case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
      m_device_features_sel = value;
      return;
    case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
      m_driver_features_sel = value;
      return;
    case VIRTIO_MMIO_DRIVER_FEATURES:
      // Guest-controlled: frozen once FEATURES_OK is set; selectors >= 2 are ignored.
      if (m_status & kFeaturesOk) return;
      if (m_driver_features_sel == 0) m_driver_features = set_low(m_driver_features, value);
      if (m_driver_features_sel == 1) m_driver_features = set_high(m_driver_features, value);
      return;
    case VIRTIO_MMIO_QUEUE_SEL:
      m_queue_sel = value;
      return;
    case VIRTIO_MMIO_QUEUE_NOTIFY:
      // Guest-controlled: the queue index, checked; kicks before DRIVER_OK or after reset and
      // kicks while the device needs a reset do nothing.
      if (m_activated && !m_interrupt->needs_reset() && value < m_queues.size())
        m_device->notify(static_cast<uint16_t>(value));
      return;
    case VIRTIO_MMIO_INTERRUPT_ACK:
      m_interrupt->ack(value);
      return;
    case VIRTIO_MMIO_STATUS:
      write_status(value);
      return;
    default:
      write_queue_register(offset, value);
      return;
  }
}

void MmioTransport::write_queue_register(uint64_t offset, uint32_t value) {
  SplitQueue* q = selected_queue();
  // Queue configuration is frozen from DRIVER_OK (and after FAILED) until reset (4.2.3.2).
  if (q == nullptr || (m_status & (kDriverOk | kFailed))) return;
  // Guest-controlled: sizes and addresses are only stored here; validate() checks them at
  // DRIVER_OK.
  switch (offset) {
    case VIRTIO_MMIO_QUEUE_NUM:
      q->set_size(value);
      return;
    case VIRTIO_MMIO_QUEUE_READY:
      q->set_ready(value == 1);
      return;
    case VIRTIO_MMIO_QUEUE_DESC_LOW:
      q->set_desc_table(set_low(q->desc_table(), value));
      return;
    case VIRTIO_MMIO_QUEUE_DESC_HIGH:
      q->set_desc_table(set_high(q->desc_table(), value));
      return;
    case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
      q->set_avail_ring(set_low(q->avail_ring(), value));
      return;
    case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
      q->set_avail_ring(set_high(q->avail_ring(), value));
      return;
    case VIRTIO_MMIO_QUEUE_USED_LOW:
      q->set_used_ring(set_low(q->used_ring(), value));
      return;
    case VIRTIO_MMIO_QUEUE_USED_HIGH:
      q->set_used_ring(set_high(q->used_ring(), value));
      return;
    default:
      return;  // undefined or read-only register
  }
}

bool MmioTransport::features_acceptable() const {
  // 3.1.1 step 5-6, 6.1: only offered features, and VERSION_1 (no legacy interface).
  if (m_driver_features & ~m_device_features) return false;
  if (!(m_driver_features & kVersion1)) return false;
  return m_device->accept_features(m_driver_features);
}

void MmioTransport::write_status(uint32_t value) {
  // Guest-controlled: the whole value. NEEDS_RESET is the device's bit: a driver echoing it
  // back (read-modify-write) is not asking for anything.
  uint32_t next = value & ~kNeedsReset;
  if (next == 0) return reset();
  uint32_t old = m_status;
  // Reserved bits, cleared bits, or nothing new: ignored (2.1.1, 3.1.1).
  if (next & ~(kAck | kDriver | kFeaturesOk | kDriverOk | kFailed)) return;
  if ((next & old) != old || next == old) return;
  if (next == (old | kFailed)) {
    m_status = next;  // the driver gave up; only a reset brings it back
    return;
  }
  if ((old & kFailed) || (next & kFailed) || !in_sequence(next)) return;
  if ((next & kFeaturesOk) && !(old & kFeaturesOk) && !features_acceptable()) {
    if (log_limit().allow())
      spdlog::warn("virtio-mmio: FEATURES_OK refused for features {:#x} (offered {:#x})",
                   m_driver_features, m_device_features);
    return;  // the bit is not latched; the driver sees it cleared (3.1.1 step 6)
  }
  m_status = next;
  if ((next & kDriverOk) && !(old & kDriverOk)) activate();
}

void MmioTransport::activate() {
  std::vector<SplitQueue> queues = m_queues;
  for (size_t i = 0; i < queues.size(); ++i) {
    if (!queues[i].ready()) continue;  // an unused queue stays inactive
    QueueConfigError e = queues[i].validate(m_memory, m_forbidden, m_driver_features);
    if (e != QueueConfigError::ok) {
      if (log_limit().allow())
        spdlog::warn("virtio-mmio: device type {} queue {} rejected: {}", m_device->device_type(),
                     i, describe(e));
      m_interrupt->signal_needs_reset();
      return;
    }
  }
  Activation act{m_memory, std::move(queues), m_queue_events, m_driver_features, m_interrupt, m_io};
  if (auto r = m_device->activate(std::move(act)); !r) {
    if (log_limit().allow())
      spdlog::warn("virtio-mmio: device type {} activation failed: {}", m_device->device_type(),
                   r.error().message());
    m_interrupt->signal_needs_reset();
    return;
  }
  m_activated = true;
}

void MmioTransport::reset_device() {
  std::lock_guard lock(m_mutex);
  reset();
}

void MmioTransport::reset() {
  // 2.4, 4.2.3.1: the device stops using the queues before the registers return to initial.
  if (m_activated) m_device->reset();
  m_activated = false;
  m_status = 0;
  m_device_features_sel = m_driver_features_sel = 0;
  m_driver_features = 0;
  m_queue_sel = 0;
  m_queues = fresh_queues();
  m_interrupt->reset();
}

void MmioTransport::read_config(uint64_t offset, std::span<uint8_t> data) const {
  std::fill(data.begin(), data.end(), uint8_t{0});
  size_t n = data.size();
  // Guest-controlled: offset and width; 1/2/4/8 bytes, naturally aligned, entirely inside the
  // device's config space (4.2.2.2); anything else reads 0.
  if ((n != 1 && n != 2 && n != 4 && n != 8) || offset % n != 0) return;
  size_t size = m_device->config_size();
  if (offset > size || n > size - offset) return;
  m_device->read_config(offset, data);
}

void MmioTransport::write_config(uint64_t offset, std::span<const uint8_t> data) {
  size_t n = data.size();
  // Guest-controlled: the same checks as read_config; out-of-range writes are ignored.
  if ((n != 1 && n != 2 && n != 4 && n != 8) || offset % n != 0) return;
  size_t size = m_device->config_size();
  if (offset > size || n > size - offset) return;
  m_device->write_config(offset, data);
}

}  // namespace minivmm::virtio
