// to_json(Metrics): the snapshot as one JSON object with the field names of metrics.hpp, for
// runtimes that export it as is. MAC addresses print as "02:00:00:00:00:01"; a missing vsock
// device is null. Rendering cannot fail.
#include <minivmm/machine.hpp>
#include <minivmm/metrics.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace minivmm {

namespace {

using nlohmann::json;

json disk_json(const DiskStats& d) {
  return {{"id", d.id},
          {"path", d.path},
          {"read_only", d.read_only},
          {"capacity_bytes", d.capacity_bytes},
          {"requests", d.requests},
          {"read_bytes", d.read_bytes},
          {"write_bytes", d.write_bytes},
          {"errors", d.errors},
          {"backing_swaps", d.backing_swaps}};
}

json net_json(const NetStats& n) {
  const auto& m = n.mac;
  return {{"tap_name", n.tap_name},
          {"mac", fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3],
                              m[4], m[5])},
          {"link_up", n.link_up},
          {"rx_packets", n.rx_packets},
          {"rx_bytes", n.rx_bytes},
          {"rx_drops", n.rx_drops},
          {"rx_errors", n.rx_errors},
          {"tx_packets", n.tx_packets},
          {"tx_bytes", n.tx_bytes},
          {"tx_drops", n.tx_drops},
          {"tx_errors", n.tx_errors}};
}

json vsock_json(const VsockStats& v) {
  return {{"uds_path", v.uds_path},
          {"guest_cid", v.guest_cid},
          {"rx_packets", v.rx_packets},
          {"rx_bytes", v.rx_bytes},
          {"tx_packets", v.tx_packets},
          {"tx_bytes", v.tx_bytes},
          {"connections_opened", v.connections_opened},
          {"connections_reset", v.connections_reset},
          {"active_connections", v.active_connections},
          {"dropped_packets", v.dropped_packets}};
}

json fs_json(const FsStats& f) {
  return {{"tag", f.tag},
          {"backend_connected", f.backend_connected},
          {"activations", f.activations},
          {"requests_failed", f.requests_failed},
          {"dropped_requests", f.dropped_requests}};
}

}  // namespace

std::string to_json(const Metrics& m) {
  json j;
  j["state"] = to_string(m.state);
  j["uptime_ns"] = m.uptime.count();
  j["vcpus"] = json::array();
  for (const auto& v : m.vcpus)
    j["vcpus"].push_back({{"index", v.index}, {"thread_id", v.thread_id}, {"exits", v.exits}});
  j["disks"] = json::array();
  for (const auto& d : m.disks) j["disks"].push_back(disk_json(d));
  j["nets"] = json::array();
  for (const auto& n : m.nets) j["nets"].push_back(net_json(n));
  j["vsock"] = m.vsock ? vsock_json(*m.vsock) : json(nullptr);
  j["fs"] = json::array();
  for (const auto& f : m.fs) j["fs"].push_back(fs_json(f));
  // Paths and tap names come from the embedder but may hold any bytes: never throw on them.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace minivmm
