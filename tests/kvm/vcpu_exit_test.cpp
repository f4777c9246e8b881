// KVM tests of the vCPU exit path with a tiny long-mode guest on the host's /dev/kvm: PIO and
// MMIO exits of every width reach the right bus device with the right offset and data, reads
// return the device's bytes to the guest, and unassigned reads return all-ones.
#include <doctest/doctest.h>

#include <mutex>

#include "boot/linux_loader.hpp"
#include "tests/support/tiny_guest.hpp"
#include "vmm/kvm/cpuid.hpp"
#include "vmm/kvm/kvm.hpp"
#include "vmm/machine/cpu_setup.hpp"
#include "vmm/machine/vcpu_runner.hpp"
#include "vmm/memory/x86_layout.hpp"

using namespace minivmm;
using namespace minivmm::test;

namespace {

struct Access {
  bool write;
  uint64_t offset;
  size_t size;
  uint64_t value;
};

// Records every access; reads return bytes 0xA0, 0xA1, ... from the accessed offset on.
class RecordingDevice : public BusDevice {
 public:
  void read(uint64_t offset, std::span<uint8_t> data) override {
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(0xA0 + offset + i);
    record(false, offset, data);
  }
  void write(uint64_t offset, std::span<const uint8_t> data) override {
    record(true, offset, data);
  }
  std::vector<Access> accesses() {
    std::lock_guard l(m);
    return log;
  }

 private:
  void record(bool w, uint64_t off, std::span<const uint8_t> d) {
    uint64_t v = 0;
    std::memcpy(&v, d.data(), d.size());
    std::lock_guard l(m);
    log.push_back({w, off, d.size(), v});
  }
  std::mutex m;
  std::vector<Access> log;
};

// A write to it stops the machine.
class DoneDevice : public BusDevice {
 public:
  explicit DoneDevice(StopController& s) : stop(s) {}
  void read(uint64_t, std::span<uint8_t>) override {}
  void write(uint64_t, std::span<const uint8_t>) override {
    stop.stop(ExitReason::guest_shutdown, "done port");
  }
  StopController& stop;
};

constexpr uint16_t kPort = 0x500;
constexpr uint16_t kUnassignedPort = 0x600;
constexpr uint16_t kDonePort = 0x5f0;
constexpr uint64_t kMmio = 0xd000'0000;

struct TinyVm {
  Kvm kvm;
  Vm vm;
  GuestMemory mem;
};

TinyVm make_vm(const std::vector<uint8_t>& elf) {
  auto kvm = Kvm::open();
  REQUIRE_MESSAGE(kvm, (kvm ? "" : kvm.error().message()));
  auto vm = kvm->create_vm();
  REQUIRE(vm);
  REQUIRE(vm->set_tss_and_identity_map(0xfffbd000, 0xfffbc000));
  REQUIRE(vm->create_irqchip_and_pit());
  auto mem = GuestMemory::create(x86::ram_regions(16 << 20));
  REQUIRE(mem);
  REQUIRE(vm->set_user_memory_region(0, 0, mem->regions()[0].size, mem->regions()[0].host));
  boot::LinuxBootConfig cfg;
  cfg.kernel = elf;
  auto loaded = boot::load_linux(*mem, cfg);
  REQUIRE_MESSAGE(loaded, (loaded ? "" : loaded.error().message()));
  return TinyVm{std::move(*kvm), std::move(*vm), std::move(*mem)};
}

}  // namespace

TEST_CASE("PIO and MMIO exits of every width reach the device with offset and data") {
  TinyGuestCode g;
  g.mov(g.dx, kPort);
  g.mov(g.al, 0x11);
  g.out_(g.dx, g.al);
  g.mov(g.ax, 0x2233);
  g.out_(g.dx, g.ax);
  g.mov(g.eax, 0x44556677);
  g.out_(g.dx, g.eax);
  g.add(g.dx, 4);
  g.in_(g.eax, g.dx);  // offset 4: A4 A5 A6 A7
  g.mov(g.ebx, g.eax);
  g.mov(g.dx, kUnassignedPort);
  g.in_(g.ax, g.dx);  // all-ones
  g.mov(g.dx, kPort);
  g.out_(g.dx, g.eax);  // echo the unassigned read (0x????ffff in eax's low word)
  g.mov(g.rcx, kMmio);
  g.mov(g.byte[g.rcx + 1], 0x55);
  g.mov(g.word[g.rcx + 2], 0x6677);
  g.mov(g.dword[g.rcx + 4], 0x8899aabb);
  g.mov(g.rax, 0x0102030405060708ull);
  g.mov(g.qword[g.rcx + 8], g.rax);
  g.mov(g.rax, g.qword[g.rcx]);  // A0..A7
  g.mov(g.dx, kPort);
  g.out_(g.dx, g.eax);
  g.mov(g.dx, kDonePort);
  g.out_(g.dx, g.al);
  g.L("hang");
  g.jmp("hang");
  g.ready();

  TinyVm t = make_vm(g.elf());
  auto dev = std::make_shared<RecordingDevice>();
  StopController stop;
  Bus pio, mmio;
  REQUIRE(pio.insert(dev, kPort, 8, "rec"));
  REQUIRE(pio.insert(std::make_shared<DoneDevice>(stop), kDonePort, 1, "done"));
  REQUIRE(mmio.insert(dev, kMmio, 16, "rec-mmio"));
  auto supported = t.kvm.supported_cpuid();
  REQUIRE(supported);
  auto vcpu = t.vm.create_vcpu(0);
  REQUIRE(vcpu);
  REQUIRE(setup_vcpu_common(*vcpu, normalize_cpuid(*supported, 0, 1)));
  auto elf = g.elf();
  boot::LinuxBootConfig cfg;
  cfg.kernel = elf;
  auto loaded = boot::load_linux(t.mem, cfg);
  REQUIRE(loaded);
  REQUIRE(setup_boot_vcpu_registers(*vcpu, loaded->entry));
  RateLimiter limiter(10);
  VcpuRunner runner(std::move(*vcpu), VcpuContext{pio, mmio, stop, limiter, {}, {}});
  stop.set_on_stop([&] { runner.request_stop(); });
  runner.start();
  ExitStatus st = stop.wait_reason();
  runner.join();
  CHECK(st.reason == ExitReason::guest_shutdown);

  auto a = dev->accesses();
  REQUIRE(a.size() == 11);
  CHECK((a[0].write && a[0].offset == 0 && a[0].size == 1 && a[0].value == 0x11));
  CHECK((a[1].write && a[1].size == 2 && a[1].value == 0x2233));
  CHECK((a[2].write && a[2].size == 4 && a[2].value == 0x44556677));
  CHECK((!a[3].write && a[3].offset == 4 && a[3].size == 4));
  CHECK((a[4].write && a[4].size == 4 && (a[4].value & 0xffff) == 0xffff));  // unassigned read
  CHECK((a[5].write && a[5].offset == 1 && a[5].size == 1 && a[5].value == 0x55));
  CHECK((a[6].write && a[6].offset == 2 && a[6].size == 2 && a[6].value == 0x6677));
  CHECK((a[7].write && a[7].offset == 4 && a[7].size == 4 && a[7].value == 0x8899aabb));
  CHECK((a[8].write && a[8].offset == 8 && a[8].size == 8 && a[8].value == 0x0102030405060708ull));
  CHECK((!a[9].write && a[9].offset == 0 && a[9].size == 8));
  CHECK((a[10].write && a[10].size == 4 && a[10].value == 0xA3A2A1A0));  // the MMIO read data
}
