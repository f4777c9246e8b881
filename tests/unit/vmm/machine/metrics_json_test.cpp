// Unit tests of to_json(Metrics): every field under its documented key, MACs as colon hex, a
// missing vsock as null, empty lists as [], and bytes that are not UTF-8 do not throw.
#include <minivmm/machine.hpp>
#include <minivmm/metrics.hpp>

#include <nlohmann/json.hpp>

#include <doctest/doctest.h>

namespace minivmm {
namespace {

using nlohmann::json;

TEST_CASE("to_json: an empty snapshot has every key, null vsock and empty lists") {
  json j = json::parse(to_json(Metrics{}));
  CHECK(j["state"] == "created");
  CHECK(j["uptime_ns"] == 0);
  CHECK(j["vcpus"].is_array());
  CHECK(j["disks"].empty());
  CHECK(j["nets"].empty());
  CHECK(j["fs"].empty());
  CHECK(j["vsock"].is_null());
}

TEST_CASE("to_json: vcpus, disks, nets, vsock and fs carry their counters") {
  Metrics m;
  m.state = MachineState::paused;
  m.uptime = std::chrono::nanoseconds(1234);
  m.vcpus.push_back({1, 4242, 99});
  DiskStats d;
  d.id = "vda";
  d.path = "/img";
  d.capacity_bytes = 1 << 20;
  d.requests = 7;
  d.backing_swaps = 2;
  m.disks.push_back(d);
  NetStats n;
  n.tap_name = "tap0";
  n.mac = {0x02, 0, 0, 0, 0xab, 0x01};
  n.link_up = true;
  n.tx_bytes = 5;
  m.nets.push_back(n);
  VsockStats v;
  v.uds_path = "/v.sock";
  v.guest_cid = 3;
  v.active_connections = 1;
  m.vsock = v;
  FsStats f;
  f.tag = "share";
  f.backend_connected = true;
  m.fs.push_back(f);
  json j = json::parse(to_json(m));
  CHECK(j["state"] == "paused");
  CHECK(j["uptime_ns"] == 1234);
  CHECK(j["vcpus"][0] == json{{"index", 1}, {"thread_id", 4242}, {"exits", 99}});
  CHECK(j["disks"][0]["id"] == "vda");
  CHECK(j["disks"][0]["capacity_bytes"] == 1 << 20);
  CHECK(j["disks"][0]["backing_swaps"] == 2);
  CHECK(j["nets"][0]["mac"] == "02:00:00:00:ab:01");
  CHECK(j["nets"][0]["link_up"] == true);
  CHECK(j["nets"][0]["tx_bytes"] == 5);
  CHECK(j["vsock"]["guest_cid"] == 3);
  CHECK(j["vsock"]["active_connections"] == 1);
  CHECK(j["fs"][0]["tag"] == "share");
}

TEST_CASE("to_json: a path that is not UTF-8 does not throw") {
  Metrics m;
  DiskStats d;
  d.path = std::string("/bad\xff\xfe", 6);
  m.disks.push_back(d);
  std::string s;
  CHECK_NOTHROW(s = to_json(m));
  CHECK(json::parse(s)["disks"][0]["path"].is_string());
}

}  // namespace
}  // namespace minivmm
