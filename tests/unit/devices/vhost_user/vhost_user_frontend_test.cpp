// Unit tests of VhostUserFrontend against a scripted FakeBackend on a socketpair: the request
// sequence and payloads of negotiation, REPLY_ACK mode, the memory table (regions, one memfd per
// region) and vring setup (host addresses, eventfds); and every hostile reply: wrong request id,
// wrong flags, oversize and truncated payloads, unexpected and too many descriptors (closed),
// trailing bytes, a refused ack, a wrong ring index, silence (a timeout, not a hang) and EOF.
// After any failure the connection is broken and later calls fail at once. Also connect().
#include "devices/vhost_user/vhost_user_frontend.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include <doctest/doctest.h>

#include "tests/support/temp_dir.hpp"
#include "tests/unit/devices/vhost_user/fake_backend.hpp"
#include "vmm/sys/event_fd.hpp"

namespace minivmm::vhost_user {
namespace {

TEST_SUITE_BEGIN("vhost_user/frontend");

using test::FakeBackend;
using test::Handler;
using namespace std::chrono_literals;

constexpr auto kShort = 300ms;

/// A frontend on one end of a socketpair and a fake backend on the other.
struct Pair {
  explicit Pair(Handler h, std::chrono::milliseconds timeout = kShort)
      : Pair(FakeBackend::socket_pair(), std::move(h), timeout) {}
  Pair(std::pair<UniqueFd, UniqueFd> sp, Handler h, std::chrono::milliseconds timeout)
      : backend(std::move(sp.second), std::move(h)),
        fe(VhostUserFrontend::adopt(std::move(sp.first), "test.sock", timeout)) {}
  FakeBackend backend;
  VhostUserFrontend fe;
};

std::string message_of(const Result<uint64_t>& r) {
  return r ? std::string() : r.error().message();
}

TEST_CASE("get_features returns the backend's word") {
  Pair p(test::standard_handler(0x1234'5678'9abcull, 0));
  auto f = p.fe.get_features();
  REQUIRE_MESSAGE(f.has_value(), message_of(f));
  CHECK(*f == 0x1234'5678'9abcull);
  REQUIRE(p.backend.wait_for(1) == 1);
  CHECK(p.backend.log()[0].header.flags == kFlagVersion);
}

TEST_CASE("without REPLY_ACK a set request is sent without NEED_REPLY and not awaited") {
  Pair p(test::standard_handler(0, 0));
  REQUIRE(p.fe.set_features(0x100000000ull).has_value());
  REQUIRE(p.backend.wait_for(1) == 1);
  const auto& r = p.backend.log()[0];
  CHECK(r.code() == Request::set_features);
  CHECK(r.header.flags == kFlagVersion);
  CHECK(r.u64() == 0x100000000ull);
}

TEST_CASE("after REPLY_ACK every set request carries NEED_REPLY and waits for the ack") {
  Pair p(test::standard_handler(0, 1ull << kProtocolReplyAck));
  REQUIRE(p.fe.set_protocol_features(1ull << kProtocolReplyAck).has_value());
  CHECK(p.fe.reply_ack());
  REQUIRE(p.fe.set_owner().has_value());
  REQUIRE(p.fe.set_vring_num(0, 256).has_value());
  REQUIRE(p.backend.wait_for(3) == 3);
  CHECK((p.backend.log()[0].header.flags & kFlagNeedReply) == 0);
  CHECK((p.backend.log()[1].header.flags & kFlagNeedReply) != 0);
  CHECK((p.backend.log()[2].header.flags & kFlagNeedReply) != 0);
  CHECK(p.backend.log()[2].state().num == 256);
}

TEST_CASE("a non-zero ack is a refusal that breaks the connection") {
  Pair p([](FakeBackend& b, const test::Request& r) {
    if (r.header.flags & kFlagNeedReply) b.reply_u64(r, 1);
  });
  REQUIRE(p.fe.set_protocol_features(1ull << kProtocolReplyAck).has_value());
  auto r = p.fe.set_owner();
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message().find("SET_OWNER: backend refused") != std::string::npos);
  CHECK(p.fe.broken().has_value());
  CHECK(p.fe.fd() == -1);
}

TEST_CASE("a reply to a different request is rejected and later calls fail at once") {
  Pair p([](FakeBackend& b, const test::Request& r) {
    b.send_reply(static_cast<uint32_t>(Request::get_protocol_features), 0x5, &r.header, 8);
  });
  auto f = p.fe.get_features();
  REQUIRE_FALSE(f.has_value());
  CHECK(f.error().message().find("vhost-user test.sock GET_FEATURES: bad reply") !=
        std::string::npos);
  CHECK(f.error().message().find("different request") != std::string::npos);
  auto again = p.fe.get_features();
  REQUIRE_FALSE(again.has_value());
  CHECK(again.error().message().find("refused") != std::string::npos);
  CHECK(p.backend.wait_for(2) == 1);  // nothing more was sent
}

TEST_CASE("a reply without the REPLY flag is rejected") {
  Pair p([](FakeBackend& b, const test::Request& r) {
    uint64_t v = 1;
    b.send_reply(r.header.request, kFlagVersion, &v, 8);
  });
  auto f = p.fe.get_features();
  REQUIRE_FALSE(f.has_value());
  CHECK(f.error().message().find("REPLY flag missing") != std::string::npos);
}

TEST_CASE("a reply with another protocol version is rejected") {
  Pair p([](FakeBackend& b, const test::Request& r) {
    uint64_t v = 1;
    b.send_reply(r.header.request, 0x2 | kFlagReply, &v, 8);
  });
  auto f = p.fe.get_features();
  REQUIRE_FALSE(f.has_value());
  CHECK(f.error().message().find("version") != std::string::npos);
}

TEST_CASE("a payload larger than any message is refused before it is read") {
  Pair p([](FakeBackend& b, const test::Request& r) {
    std::vector<uint8_t> big(1000, 0xab);
    b.send_reply(r.header.request, 0x5, big.data(), 1000);
  });
  auto f = p.fe.get_features();
  REQUIRE_FALSE(f.has_value());
  CHECK(f.error().message().find("payload of 1000 bytes exceeds 264") != std::string::npos);
}

TEST_CASE("a payload of the wrong size is rejected") {
  Pair p([](FakeBackend& b, const test::Request& r) {
    uint64_t v[2] = {1, 2};
    b.send_reply(r.header.request, 0x5, v, 16);
  });
  auto f = p.fe.get_features();
  REQUIRE_FALSE(f.has_value());
  CHECK(f.error().message().find("unexpected payload size") != std::string::npos);
}

TEST_CASE("a truncated reply followed by EOF is an error") {
  Pair p([](FakeBackend& b, const test::Request& r) {
    Header h{r.header.request, 0x5, 8};
    uint8_t bytes[16] = {};
    std::memcpy(bytes, &h, sizeof h);
    b.send_raw(bytes, sizeof h + 4);  // 4 of 8 payload bytes
    b.close_connection();
  });
  auto f = p.fe.get_features();
  REQUIRE_FALSE(f.has_value());
  CHECK(f.error().message().find("truncated message") != std::string::npos);
}

TEST_CASE("a truncated reply without EOF times out instead of hanging") {
  Pair p([](FakeBackend& b, const test::Request& r) {
    Header h{r.header.request, 0x5, 8};
    b.send_raw(&h, sizeof h);
  });
  auto start = std::chrono::steady_clock::now();
  auto f = p.fe.get_features();
  REQUIRE_FALSE(f.has_value());
  CHECK(std::chrono::steady_clock::now() - start < 3s);
  CHECK(f.error().code() == make_error_code(ErrorCode::timeout));
}

TEST_CASE("bytes after a complete reply are a protocol error") {
  Pair p([](FakeBackend& b, const test::Request& r) {
    uint8_t bytes[12 + 8 + 4] = {};
    Header h{r.header.request, 0x5, 8};
    std::memcpy(bytes, &h, sizeof h);
    b.send_raw(bytes, sizeof bytes);
  });
  auto f = p.fe.get_features();
  REQUIRE_FALSE(f.has_value());
  CHECK(f.error().message().find("unexpected bytes") != std::string::npos);
}

/// True when the read end of a pipe sees EOF (every write end closed).
bool pipe_closed(int read_fd) {
  pollfd pf{read_fd, POLLIN, 0};
  if (::poll(&pf, 1, 2000) != 1) return false;
  char c;
  return ::read(read_fd, &c, 1) == 0;
}

TEST_CASE("a descriptor attached to a reply is rejected and closed") {
  int pfd[2];
  REQUIRE(::pipe2(pfd, O_CLOEXEC) == 0);
  UniqueFd rd(pfd[0]), wr(pfd[1]);
  Pair p([&](FakeBackend& b, const test::Request& r) {
    uint64_t v = 1;
    b.send_reply(r.header.request, 0x5, &v, 8, {wr.get()});
    wr.reset();  // only the frontend's copy remains
  });
  auto f = p.fe.get_features();
  REQUIRE_FALSE(f.has_value());
  CHECK(f.error().message().find("1 unexpected file descriptors") != std::string::npos);
  CHECK(pipe_closed(rd.get()));
}

TEST_CASE("more descriptors than a message may carry are refused and none leak") {
  int pfd[2];
  REQUIRE(::pipe2(pfd, O_CLOEXEC) == 0);
  UniqueFd rd(pfd[0]), wr(pfd[1]);
  Pair p([&](FakeBackend& b, const test::Request& r) {
    uint64_t v = 1;
    b.send_reply(r.header.request, 0x5, &v, 8, std::vector<int>(12, wr.get()));
    wr.reset();
  });
  auto f = p.fe.get_features();
  REQUIRE_FALSE(f.has_value());
  CHECK(f.error().message().find("more than 8 file descriptors") != std::string::npos);
  CHECK(pipe_closed(rd.get()));
}

TEST_CASE("no reply within the timeout is a timeout error naming peer and request") {
  Pair p([](FakeBackend&, const test::Request&) {}, 200ms);
  auto start = std::chrono::steady_clock::now();
  auto f = p.fe.get_features();
  auto took = std::chrono::steady_clock::now() - start;
  REQUIRE_FALSE(f.has_value());
  CHECK(f.error().message() == "vhost-user test.sock GET_FEATURES: timed out after 200 ms");
  CHECK(took >= 190ms);
  CHECK(took < 2s);
}

TEST_CASE("a backend that closes the connection is an error, not a hang") {
  Pair p([](FakeBackend& b, const test::Request&) { b.close_connection(); });
  auto f = p.fe.get_vring_base(0);
  REQUIRE_FALSE(f.has_value());
  CHECK(f.error().message().find("GET_VRING_BASE: connection closed") != std::string::npos);
}

TEST_CASE("GET_VRING_BASE returns the backend's index and checks the ring it names") {
  Pair p(test::standard_handler(0, 0, 2, 42));
  auto b = p.fe.get_vring_base(1);
  REQUIRE(b.has_value());
  CHECK(*b == 42);

  Pair q([](FakeBackend& be, const test::Request& r) { be.reply_state(r, 0, 1); });
  auto wrong = q.fe.get_vring_base(1);
  REQUIRE_FALSE(wrong.has_value());
  CHECK(wrong.error().message().find("ring 0 instead of 1") != std::string::npos);
}

TEST_CASE("SET_MEM_TABLE describes every region with the memfd and host addresses") {
  RegionSpec specs[] = {{0, 0x100000}, {0x200000, 0x100000}};
  auto mem = GuestMemory::create(specs);
  REQUIRE(mem.has_value());
  Pair p(test::standard_handler(0, 0));
  REQUIRE(p.fe.set_mem_table(*mem).has_value());
  REQUIRE(p.backend.wait_for(1) == 1);
  const auto& r = p.backend.log()[0];
  CHECK(r.code() == Request::set_mem_table);
  REQUIRE(r.payload.size() == 8 + 2 * 32);
  REQUIRE(r.fds.size() == 2);
  struct stat ours {
  }, theirs{};
  REQUIRE(::fstat(mem->memfd(), &ours) == 0);
  for (const auto& fd : r.fds) {
    REQUIRE(::fstat(fd.get(), &theirs) == 0);
    CHECK(theirs.st_ino == ours.st_ino);
  }
  for (size_t i = 0; i < 2; ++i) {
    MemoryRegion reg{};
    std::memcpy(&reg, r.payload.data() + 8 + 32 * i, sizeof reg);
    const GuestRegion& g = mem->regions()[i];
    CHECK(reg.guest_phys_addr == g.gpa);
    CHECK(reg.memory_size == g.size);
    CHECK(reg.userspace_addr == reinterpret_cast<uint64_t>(g.host));
    CHECK(reg.mmap_offset == g.fd_offset);
  }
}

TEST_CASE("SET_MEM_TABLE of private guest memory is refused before anything is sent") {
  RegionSpec specs[] = {{0, 0x200000}};
  auto mem = GuestMemory::create(specs, GuestMemoryBacking::private_anonymous);
  REQUIRE(mem.has_value());
  Pair p(test::standard_handler(0, 0));
  auto r = p.fe.set_mem_table(*mem);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message().find("private") != std::string::npos);
  CHECK(p.backend.log().empty());
}

TEST_CASE("SET_VRING_ADDR carries our host addresses of the rings") {
  RegionSpec specs[] = {{0, 0x100000}};
  auto mem = GuestMemory::create(specs);
  REQUIRE(mem.has_value());
  Pair p(test::standard_handler(0, 0));
  REQUIRE(p.fe.set_vring_addr(1, *mem, {0x1000, 0x2000, 0x3000, 16}).has_value());
  REQUIRE(p.backend.wait_for(1) == 1);
  vhost_vring_addr a{};
  std::memcpy(&a, p.backend.log()[0].payload.data(), sizeof a);
  auto host = reinterpret_cast<uint64_t>(mem->regions()[0].host);
  CHECK(a.index == 1);
  CHECK(a.desc_user_addr == host + 0x1000);
  CHECK(a.avail_user_addr == host + 0x2000);
  CHECK(a.used_user_addr == host + 0x3000);
  CHECK_FALSE(p.fe.set_vring_addr(1, *mem, {0xfff80, 0x2000, 0x3000, 16}).has_value());
}

TEST_CASE("SET_VRING_KICK and CALL pass the eventfd itself") {
  auto kick = EventFd::create(EFD_NONBLOCK);
  REQUIRE(kick.has_value());
  Pair p(test::standard_handler(0, 0));
  REQUIRE(p.fe.set_vring_kick(1, kick->fd()).has_value());
  REQUIRE(p.fe.set_vring_call(0, kick->fd()).has_value());
  REQUIRE(p.backend.wait_for(2) == 2);
  const auto& r = p.backend.log()[0];
  CHECK(r.u64() == 1);
  REQUIRE(r.fds.size() == 1);
  uint64_t one = 1;
  REQUIRE(::write(r.fds[0].get(), &one, 8) == 8);
  CHECK(kick->consume() == 1);
  CHECK(p.backend.log()[1].code() == Request::set_vring_call);
}

TEST_CASE("connect names a missing socket path at once") {
  minivmm::test::TempDir dir;
  std::string path = (dir.path() / "none.sock").string();
  auto start = std::chrono::steady_clock::now();
  auto fe = VhostUserFrontend::connect(path, 2s);
  REQUIRE_FALSE(fe.has_value());
  CHECK(std::chrono::steady_clock::now() - start < 1s);
  CHECK(fe.error().message().find("vhost-user " + path + " connect") != std::string::npos);
}

TEST_CASE("connect refuses a path that is not a socket at once") {
  minivmm::test::TempDir dir;
  std::string path = (dir.path() / "file").string();
  UniqueFd f(::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
  auto fe = VhostUserFrontend::connect(path, 2s);
  REQUIRE_FALSE(fe.has_value());
  CHECK(fe.error().message().find("is not a Unix socket") != std::string::npos);
}

TEST_CASE("connect refuses a path longer than sun_path") {
  auto fe = VhostUserFrontend::connect("/tmp/" + std::string(200, 'x'), 100ms);
  REQUIRE_FALSE(fe.has_value());
  CHECK(fe.error().code() == make_error_code(ErrorCode::invalid_config));
}

TEST_CASE("connect reaches a listening backend") {
  minivmm::test::TempDir dir;
  std::string path = (dir.path() / "b.sock").string();
  FakeBackend backend(path, test::standard_handler(7, 0));
  auto fe = VhostUserFrontend::connect(path, 2s);
  REQUIRE(fe.has_value());
  auto f = fe->get_features();
  REQUIRE(f.has_value());
  CHECK(*f == 7);
  fe->close("done");
  CHECK(backend.wait_closed());
}

}  // namespace
}  // namespace minivmm::vhost_user
