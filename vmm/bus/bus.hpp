// Bus: dispatches guest MMIO or PIO accesses to the device that owns the address. One Bus holds
// the PIO space, another the MMIO space. Devices are inserted before the vCPUs start and the table
// is immutable afterwards, so lookups take no lock; each device serialises its own registers.
// An access nobody owns is reported back to the caller (the vCPU loop logs it, rate-limited).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "vmm/sys/error.hpp"

namespace minivmm {

/// A device register window. `offset` is relative to the window's base; `data` is 1, 2, 4 or 8
/// bytes (guest-controlled width) and never extends past the window.
class BusDevice {
 public:
  virtual ~BusDevice() = default;
  virtual void read(uint64_t offset, std::span<uint8_t> data) = 0;
  virtual void write(uint64_t offset, std::span<const uint8_t> data) = 0;
};

class Bus {
 public:
  /// Registers `device` for [base, base+len). Errors (invalid_config): len 0, overflow, overlap.
  Result<void> insert(std::shared_ptr<BusDevice> device, uint64_t base, uint64_t len,
                      std::string name);

  /// Forwards the access; false when no device owns the whole [addr, addr+size).
  bool read(uint64_t addr, std::span<uint8_t> data) const;
  bool write(uint64_t addr, std::span<const uint8_t> data) const;

 private:
  struct Entry {
    uint64_t base;
    uint64_t len;
    std::shared_ptr<BusDevice> device;
    std::string name;
  };
  /// The entry owning [addr, addr+size) or nullptr.
  const Entry* find(uint64_t addr, uint64_t size) const;
  std::vector<Entry> m_entries;  // sorted by base, non-overlapping
};

}  // namespace minivmm
