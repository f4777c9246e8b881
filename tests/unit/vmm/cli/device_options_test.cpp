// Unit tests of the --net, --vsock, --fs and --share value parsers: every accepted form, and
// unknown keys, repeated keys, missing required keys and malformed numbers and MACs refused with
// an invalid_config error that names the option.
#include "vmm/cli/device_options.hpp"

#include <doctest/doctest.h>

namespace minivmm::cli {
namespace {

template <typename T>
void check_refused(const Result<T>& r, const std::string& option) {
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code() == ErrorCode::invalid_config);
  CHECK_MESSAGE(r.error().message().find(option) != std::string::npos, r.error().message());
}

TEST_CASE("--net tap=NAME with mac and mtu") {
  auto n = parse_net("tap=tap0,mac=02:AB:cd:00:00:01,mtu=9000");
  REQUIRE(n.has_value());
  CHECK(n->tap_name == "tap0");
  CHECK(n->tap_fd == -1);
  REQUIRE(n->mac.has_value());
  CHECK(*n->mac == std::array<uint8_t, 6>{0x02, 0xab, 0xcd, 0, 0, 1});
  CHECK(n->mtu == 9000);
  auto plain = parse_net("tap=t1");
  REQUIRE(plain.has_value());
  CHECK_FALSE(plain->mac.has_value());
  CHECK(plain->mtu == 1500);
}

TEST_CASE("--net fd=N takes an inherited tap fd") {
  auto n = parse_net("fd=3");
  REQUIRE(n.has_value());
  CHECK(n->tap_fd == 3);
  CHECK(n->tap_name.empty());
}

TEST_CASE("--net refuses bad forms naming --net") {
  for (const char* bad : {"", "tap=", "tap=a,fd=3", "mac=02:00:00:00:00:01", "tap=a,mtu=70000",
                          "tap=a,mtu=1x", "tap=a,mac=02:00:00:00:00", "tap=a,mac=zz:00:00:00:00:01",
                          "tap=a,tap=b", "tap=a,speed=10", "tap=a,", "fd=-", "fd=99999999999"}) {
    CAPTURE(bad);
    check_refused(parse_net(bad), "--net");
  }
}

TEST_CASE("--vsock cid=N,uds=PATH") {
  auto v = parse_vsock("cid=42,uds=/run/v.sock");
  REQUIRE(v.has_value());
  CHECK(v->guest_cid == 42);
  CHECK(v->uds_path == "/run/v.sock");
  for (const char* bad :
       {"cid=3", "uds=/x", "cid=x,uds=/x", "cid=3,uds=/x,port=1", "cid=-1,uds=/x"}) {
    CAPTURE(bad);
    check_refused(parse_vsock(bad), "--vsock");
  }
}

TEST_CASE("--fs tag=TAG,socket=PATH") {
  auto f = parse_fs("tag=data,socket=/run/fs.sock");
  REQUIRE(f.has_value());
  CHECK(f->tag == "data");
  CHECK(f->socket_path == "/run/fs.sock");
  CHECK_FALSE(f->root);
  for (const char* bad : {"tag=data", "socket=/s", "tag=a,socket=/s,ro"}) {
    CAPTURE(bad);
    check_refused(parse_fs(bad), "--fs");
  }
}

TEST_CASE("--share tag=TAG,dir=DIR[,ro]") {
  auto s = parse_share("tag=src,dir=/srv/src,ro");
  REQUIRE(s.has_value());
  CHECK(s->tag == "src");
  CHECK(s->dir == "/srv/src");
  CHECK(s->read_only);
  auto rw = parse_share("dir=/d,tag=t");
  REQUIRE(rw.has_value());
  CHECK_FALSE(rw->read_only);
  for (const char* bad : {"tag=t", "dir=/d", "tag=t,dir=/d,ro=1", "tag=t,dir=/d,rw"}) {
    CAPTURE(bad);
    check_refused(parse_share(bad), "--share");
  }
}

}  // namespace
}  // namespace minivmm::cli
