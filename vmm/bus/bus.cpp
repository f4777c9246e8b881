// Implementation of the sorted, immutable-after-start device table.
#include "vmm/bus/bus.hpp"

#include <algorithm>

namespace minivmm {

Result<void> Bus::insert(std::shared_ptr<BusDevice> device, uint64_t base, uint64_t len,
                         std::string name) {
  if (len == 0 || base + len < base)
    return make_error(ErrorCode::invalid_config, "bus: {} at {:#x} len {:#x} is empty or wraps",
                      name, base, len);
  auto it = std::lower_bound(m_entries.begin(), m_entries.end(), base,
                             [](const Entry& e, uint64_t b) { return e.base < b; });
  if (it != m_entries.end() && it->base < base + len)
    return make_error(ErrorCode::invalid_config, "bus: {} at {:#x} overlaps {} at {:#x}", name,
                      base, it->name, it->base);
  if (it != m_entries.begin() && std::prev(it)->base + std::prev(it)->len > base)
    return make_error(ErrorCode::invalid_config, "bus: {} at {:#x} overlaps {} at {:#x}", name,
                      base, std::prev(it)->name, std::prev(it)->base);
  m_entries.insert(it, Entry{base, len, std::move(device), std::move(name)});
  return {};
}

const Bus::Entry* Bus::find(uint64_t addr, uint64_t size) const {
  auto it = std::upper_bound(m_entries.begin(), m_entries.end(), addr,
                             [](uint64_t a, const Entry& e) { return a < e.base; });
  if (it == m_entries.begin()) return nullptr;
  const Entry& e = *std::prev(it);
  uint64_t off = addr - e.base;
  // Guest-controlled: addr and size; the whole access must lie inside the window.
  if (off >= e.len || size > e.len - off) return nullptr;
  return &e;
}

bool Bus::read(uint64_t addr, std::span<uint8_t> data) const {
  const Entry* e = find(addr, data.size());
  if (e == nullptr) return false;
  e->device->read(addr - e->base, data);
  return true;
}

bool Bus::write(uint64_t addr, std::span<const uint8_t> data) const {
  const Entry* e = find(addr, data.size());
  if (e == nullptr) return false;
  e->device->write(addr - e->base, data);
  return true;
}

}  // namespace minivmm
