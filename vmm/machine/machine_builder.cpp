// build_machine: the one place that knows every device and the boot flow (Firecracker's
// builder.rs). Order: validate config, open KVM, map images, create memory and VM, load the
// kernel, create devices, create and set up vCPUs. No thread starts here and any error leaves
// nothing behind (RAII unwinds what was built).
#include <spdlog/spdlog.h>

#include "boot/linux_loader.hpp"
#include "vmm/kvm/cpuid.hpp"
#include "vmm/machine/config_validation.hpp"
#include "vmm/machine/cpu_setup.hpp"
#include "vmm/machine/machine_impl.hpp"
#include "vmm/machine/virtio_attach.hpp"
#include "vmm/memory/x86_layout.hpp"
#include "vmm/sys/mapped_file.hpp"
#include "vmm/sys/process_start.hpp"

namespace minivmm {
namespace {

// KVM on Intel needs a 3-page TSS region and an identity-map page below 4 GiB outside RAM; the
// top of the MMIO gap, below the BIOS area, is what QEMU and Firecracker use.
constexpr uint64_t kKvmTssAddr = 0xfffb'd000;
constexpr uint64_t kKvmIdentityMapAddr = 0xfffb'c000;
constexpr uint16_t kCom1Port = 0x3f8;
constexpr uint32_t kCom1Gsi = 4;
constexpr size_t kConsoleInputBuffer = 4096;
constexpr uint32_t kI8042KeyboardGsi = 1;  // ISA IRQ 1

Result<void> map_memory(Vm& vm, const GuestMemory& memory) {
  uint32_t slot = 0;
  for (const auto& r : memory.regions())
    MINIVMM_TRY_VOID(vm.set_user_memory_region(slot++, r.gpa, r.size, r.host));
  return {};
}

Result<boot::LoadedKernel> load_kernel(Machine::Impl& m, const std::string& cmdline) {
  const MachineConfig& c = m.config;
  auto kernel = MappedFile::open(c.kernel_path);
  if (!kernel) return tl::unexpected(with_context(kernel.error(), "kernel"));
  std::optional<MappedFile> initrd;
  if (!c.initrd_path.empty()) {
    auto f = MappedFile::open(c.initrd_path);
    if (!f) return tl::unexpected(with_context(f.error(), "initrd"));
    initrd.emplace(std::move(*f));
  }
  boot::LinuxBootConfig boot_config;
  boot_config.kernel = kernel->bytes();
  if (initrd) boot_config.initrd = initrd->bytes();
  boot_config.cmdline = cmdline;
  boot_config.vcpus = c.vcpus;
  auto loaded = boot::load_linux(m.memory, boot_config);
  if (!loaded) return tl::unexpected(with_context(loaded.error(), "kernel " + c.kernel_path));
  return *loaded;
}

Result<void> create_legacy_devices(Machine::Impl& m) {
  MINIVMM_TRY(irq, EventFd::create());
  MINIVMM_TRY_VOID(m.vm.register_irqfd(irq.fd(), kCom1Gsi));
  m.serial_irq.emplace(std::move(irq));
  Machine::Impl* mp = &m;
  // The receive buffer is kept small (Machine::send_console_input refuses what does not fit):
  // console input is typed commands, not bulk data.
  m.serial = std::make_shared<Serial>([mp] { mp->serial_irq->signal(); },
                                      [mp](std::span<const uint8_t> b) { mp->console.write(b); },
                                      kConsoleInputBuffer);
  MINIVMM_TRY_VOID(m.pio_bus.insert(m.serial, kCom1Port, 8, "com1"));
  MINIVMM_TRY(kbd_irq, EventFd::create());
  MINIVMM_TRY_VOID(m.vm.register_irqfd(kbd_irq.fd(), kI8042KeyboardGsi));
  m.i8042_irq.emplace(std::move(kbd_irq));
  m.i8042 = std::make_shared<I8042>(
      [mp] { mp->stop.stop(ExitReason::guest_reset, "guest reset through the i8042"); },
      [mp] { mp->i8042_irq->signal(); });
  MINIVMM_TRY_VOID(m.pio_bus.insert(m.i8042, kI8042Base, kI8042Size, "i8042"));
  m.boot_timer =
      std::make_shared<BootTimer>(process_start_time(), m.created_at, m.config.on_boot_timer);
  MINIVMM_TRY_VOID(
      m.pio_bus.insert(m.boot_timer, kBootTimerPort, kBootTimerPortSize, "boot-timer"));
  return {};
}

}  // namespace

Result<std::unique_ptr<Machine::Impl>> build_machine(const MachineConfig& config) {
  auto created_at = std::chrono::steady_clock::now();
  auto timeline = std::make_unique<StartTimeline>(process_start_time(), created_at);
  MINIVMM_TRY_VOID(validate_config(config));
  MINIVMM_TRY_VOID(validate_paths(config));
  MINIVMM_TRY(kvm, Kvm::open());
  timeline->mark("kvm_opened");
  if (config.vcpus > kvm.max_vcpus())
    return make_error(ErrorCode::invalid_config, "vcpus: {} exceeds this host's KVM limit {}",
                      config.vcpus, kvm.max_vcpus());
  MINIVMM_TRY(console, ConsoleSink::create(config.console));
  // vhost-user backends (virtiofsd) map guest RAM through its memfd; without them private memory
  // lets transparent huge pages back the guest.
  const GuestMemoryBacking backing = config.fs.empty() && config.shares.empty()
                                         ? GuestMemoryBacking::private_anonymous
                                         : GuestMemoryBacking::shared_memfd;
  MINIVMM_TRY(memory, GuestMemory::create(x86::ram_regions(config.memory_mib << 20), backing));
  timeline->mark("memory_ready");
  MINIVMM_TRY(vm, kvm.create_vm());
  MINIVMM_TRY_VOID(vm.set_tss_and_identity_map(kKvmTssAddr, kKvmIdentityMapAddr));
  MINIVMM_TRY_VOID(vm.create_irqchip_and_pit());
  MINIVMM_TRY_VOID(map_memory(vm, memory));
  timeline->mark("vm_created");
  auto m = std::make_unique<Machine::Impl>(std::move(timeline), std::move(kvm), std::move(vm),
                                           std::move(memory), std::move(console));
  m->config = config;
  m->created_at = created_at;
  MINIVMM_TRY_VOID(create_legacy_devices(*m));
  std::string cmdline = config.cmdline;
  MINIVMM_TRY_VOID(attach_block_devices(*m, cmdline));
  MINIVMM_TRY_VOID(attach_net_devices(*m, cmdline));
  MINIVMM_TRY_VOID(attach_vsock_device(*m, cmdline));
  MINIVMM_TRY_VOID(attach_fs_devices(*m, cmdline));
  m->timeline->mark("devices_created");
  MINIVMM_TRY(loaded, load_kernel(*m, cmdline));
  m->timeline->mark("kernel_loaded");
  MINIVMM_TRY(supported, m->kvm.supported_cpuid());
  CpuidHostFeatures host_features;
  host_features.tsc_deadline_timer = m->kvm.check_extension(KVM_CAP_TSC_DEADLINE_TIMER) > 0;
  StartTimeline* timeline_ptr = m->timeline.get();
  Machine::Impl* impl = m.get();
  VcpuContext ctx{m->pio_bus,
                  m->mmio_bus,
                  m->stop,
                  m->unassigned_log,
                  [timeline_ptr] { timeline_ptr->mark_once("first_kvm_run"); },
                  [impl] { impl->on_thread_exit(); }};
  for (uint32_t i = 0; i < config.vcpus; ++i) {
    MINIVMM_TRY(vcpu, m->vm.create_vcpu(i));
    MINIVMM_TRY_VOID(
        setup_vcpu_common(vcpu, normalize_cpuid(supported, i, config.vcpus, host_features)));
    if (i == 0) MINIVMM_TRY_VOID(setup_boot_vcpu_registers(vcpu, loaded.entry));
    m->vcpus.push_back(std::make_unique<VcpuRunner>(std::move(vcpu), ctx));
  }
  m->timeline->mark("vcpus_created");
  return m;
}

}  // namespace minivmm
