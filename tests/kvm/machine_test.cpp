// KVM tests of the whole Machine with tiny guests on the host's /dev/kvm: console output through
// the 16550, reset through the i8042, boot-timer writes, two vCPUs (the AP started by the guest
// with INIT/SIPI), triple faults reported as such, pause/resume, and stop requests.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <minivmm/machine.hpp>
#include "tests/support/tiny_guest.hpp"

using namespace minivmm;
using namespace minivmm::test;
using namespace std::chrono_literals;

namespace {

constexpr uint16_t kBootTimerPort = 0x440;

MachineConfig tiny_config(const TempFile& kernel, uint32_t vcpus = 1) {
  MachineConfig c;
  c.kernel_path = kernel.path();
  c.memory_mib = 16;
  c.vcpus = vcpus;
  c.cmdline = "";
  c.console.output = ConsoleConfig::Output::none;
  return c;
}

std::unique_ptr<Machine> create(const MachineConfig& c) {
  auto m = Machine::create(c);
  REQUIRE_MESSAGE(m, (m ? "" : m.error().message()));
  return std::move(*m);
}

// Emits `out kBootTimerPort, value`.
void mark(TinyGuestCode& g, uint8_t value) {
  g.mov(g.dx, kBootTimerPort);
  g.mov(g.al, value);
  g.out_(g.dx, g.al);
}

void reset_via_i8042(TinyGuestCode& g) {
  g.mov(g.al, 0xfe);
  g.out_(0x64, g.al);
  g.L("spin_after_reset");
  g.jmp("spin_after_reset");
}

}  // namespace

TEST_CASE("guest serial output reaches the console callback") {
  TinyGuestCode g;
  g.mov(g.dx, 0x3f8);
  for (char ch : std::string("hello\n")) {
    g.mov(g.al, static_cast<uint8_t>(ch));
    g.out_(g.dx, g.al);
  }
  reset_via_i8042(g);
  g.ready();
  TempFile k(g.elf());
  std::mutex mu;
  std::string out;
  MachineConfig c = tiny_config(k);
  c.console.output = ConsoleConfig::Output::callback;
  c.console.on_output = [&](std::string_view s) {
    std::lock_guard l(mu);
    out += s;
  };
  auto m = create(c);
  REQUIRE(m->start());
  ExitStatus st = m->wait().value();
  CHECK(st.reason == ExitReason::guest_reset);
  CHECK(out == "hello\n");
}

TEST_CASE("i8042 reset command stops the machine as a guest reset") {
  TinyGuestCode g;
  reset_via_i8042(g);
  g.ready();
  TempFile k(g.elf());
  auto m = create(tiny_config(k));
  REQUIRE(m->start());
  CHECK(m->wait().value().reason == ExitReason::guest_reset);
}

TEST_CASE("boot-timer writes are recorded with value and timestamps") {
  TinyGuestCode g;
  mark(g, 0x41);
  mark(g, 0x42);
  reset_via_i8042(g);
  g.ready();
  TempFile k(g.elf());
  std::atomic<int> callbacks{0};
  MachineConfig c = tiny_config(k);
  c.on_boot_timer = [&](const BootTimerEvent&) { ++callbacks; };
  auto m = create(c);
  REQUIRE(m->start());
  CHECK(m->wait().value().reason == ExitReason::guest_reset);
  auto ev = m->boot_timer_events();
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].value == 0x41);
  CHECK(ev[1].value == 0x42);
  CHECK(ev[0].since_create.count() > 0);
  CHECK(ev[0].since_exec >= ev[0].since_create);
  CHECK(ev[1].since_create >= ev[0].since_create);
  CHECK(callbacks.load() == 2);
}

TEST_CASE("boot timing lists every start phase in order, before the guest's marker") {
  TinyGuestCode g;
  mark(g, 0x41);
  reset_via_i8042(g);
  g.ready();
  TempFile k(g.elf());
  auto m = create(tiny_config(k));
  const std::vector<std::string> created{"kvm_opened",      "memory_ready",  "vm_created",
                                         "devices_created", "kernel_loaded", "vcpus_created"};
  auto before = m->boot_timing();
  REQUIRE(before.phases.size() == created.size());
  REQUIRE(m->start());
  CHECK(m->wait().value().reason == ExitReason::guest_reset);
  BootTiming t = m->boot_timing();
  std::vector<std::string> names;
  for (const auto& p : t.phases) names.push_back(p.name);
  std::vector<std::string> all = created;
  all.push_back("start_called");
  all.push_back("first_kvm_run");
  CHECK(names == all);
  for (size_t i = 1; i < t.phases.size(); ++i)
    CHECK(t.phases[i].since_create >= t.phases[i - 1].since_create);
  REQUIRE(t.markers.size() == 1);
  CHECK(t.markers[0].value == 0x41);
  CHECK(t.markers[0].since_create >= t.phases.back().since_create);
  CHECK_FALSE(t.exec_reference.empty());
}

TEST_CASE("a triple fault is reported as such") {
  TinyGuestCode g;
  // An empty IDT, then a page fault (nothing is mapped above 4 GiB): #PF -> #DF -> shutdown.
  g.push(0);
  g.push(0);
  // lidt [rsp+6]: limit 0, base 0 (xbyak has no lidt mnemonic).
  for (int b : {0x0F, 0x01, 0x5C, 0x24, 0x06}) g.db(b);
  g.mov(g.rax, 0x40'0000'0000ull);
  g.mov(g.rax, g.qword[g.rax]);
  g.L("spin");
  g.jmp("spin");
  g.ready();
  TempFile k(g.elf());
  auto m = create(tiny_config(k));
  REQUIRE(m->start());
  ExitStatus st = m->wait().value();
  CHECK(st.reason == ExitReason::triple_fault);
  CHECK(st.detail.find("rip=") != std::string::npos);
}

TEST_CASE("two vCPUs: the guest starts the AP with INIT/SIPI and both run") {
  // The AP starts in real mode at vector<<12. Its code: mov al, 0xA1; out 0x40+0x400.., but an
  // 8-bit port immediate cannot reach 0x440, so: mov dx, imm16; mov al, imm8; out dx, al; jmp $.
  // These encodings are identical in 16-bit mode when no 32-bit registers are used... except
  // `mov dx, imm16`, which in 16-bit mode needs no 0x66 prefix: emit raw bytes.
  const uint8_t ap_code[] = {0xBA, 0x40, 0x04,  // mov dx, 0x440
                             0xB0, 0xA1,        // mov al, 0xA1
                             0xEE,              // out dx, al
                             0xEB, 0xFE};       // jmp $
  TinyGuestCode g;
  // Copy the AP trampoline to 0x10000 (SIPI vector 0x10).
  g.mov(g.rdi, 0x10000);
  for (size_t i = 0; i < sizeof ap_code; ++i)
    g.mov(g.byte[g.rdi + static_cast<int>(i)], ap_code[i]);
  g.mov(g.rbx, 0xfee00000ull);
  g.mov(g.dword[g.rbx + 0x310], 1u << 24);  // ICR high: destination APIC id 1
  g.mov(g.dword[g.rbx + 0x300], 0x4500);    // INIT, assert
  g.mov(g.dword[g.rbx + 0x300], 0x4610);    // SIPI, vector 0x10
  mark(g, 0xB0);
  g.L("spin");
  g.jmp("spin");
  g.ready();
  TempFile k(g.elf());
  std::atomic<bool> ap_seen{false}, bsp_seen{false};
  MachineConfig c = tiny_config(k, 2);
  Machine* mp = nullptr;
  c.on_boot_timer = [&](const BootTimerEvent& e) {
    if (e.value == 0xA1) ap_seen = true;
    if (e.value == 0xB0) bsp_seen = true;
    if (ap_seen && bsp_seen) mp->request_stop();
  };
  auto m = create(c);
  mp = m.get();
  REQUIRE(m->start());
  std::thread guard([&] {
    // Never hang the suite: stop after 20 s whatever happened.
    for (int i = 0; i < 200 && !(ap_seen && bsp_seen); ++i) std::this_thread::sleep_for(100ms);
    m->request_stop();
  });
  ExitStatus st = m->wait().value();
  guard.join();
  CHECK(bsp_seen.load());
  CHECK(ap_seen.load());
  CHECK(st.reason == ExitReason::stopped_by_host);
  CHECK(m->vcpu_thread_ids().size() == 2);
}

TEST_CASE("pause stops guest progress and resume continues it") {
  TinyGuestCode g;
  g.L("loop");
  mark(g, 0x50);
  g.jmp("loop");
  g.ready();
  TempFile k(g.elf());
  std::atomic<uint64_t> count{0};
  MachineConfig c = tiny_config(k);
  c.on_boot_timer = [&](const BootTimerEvent&) { ++count; };
  auto m = create(c);
  REQUIRE(m->start());
  for (int i = 0; i < 200 && count.load() < 10; ++i) std::this_thread::sleep_for(10ms);
  REQUIRE(count.load() >= 10);
  REQUIRE(m->pause());
  CHECK_FALSE(m->pause());            // wrong state: already paused
  std::this_thread::sleep_for(20ms);  // let the last in-flight exit finish
  uint64_t paused_at = count.load();
  std::this_thread::sleep_for(100ms);
  CHECK(count.load() == paused_at);
  REQUIRE(m->resume());
  for (int i = 0; i < 200 && count.load() < paused_at + 10; ++i) std::this_thread::sleep_for(10ms);
  CHECK(count.load() >= paused_at + 10);
  m->request_stop();
  CHECK(m->wait().value().reason == ExitReason::stopped_by_host);
}

TEST_CASE("start twice is refused and changes nothing") {
  TinyGuestCode g;
  reset_via_i8042(g);
  g.ready();
  TempFile k(g.elf());
  auto m = create(tiny_config(k));
  REQUIRE(m->start());
  auto again = m->start();
  CHECK_FALSE(again);
  CHECK(m->wait().value().reason == ExitReason::guest_reset);
}

TEST_CASE("a machine stopped before start refuses to start") {
  TinyGuestCode g;
  reset_via_i8042(g);
  g.ready();
  TempFile k(g.elf());
  auto m = create(tiny_config(k));
  m->request_stop();
  CHECK_FALSE(m->start());
}
