// Gathering the Metrics snapshot: the lifecycle state and uptime, each vCPU's thread id and exit
// count, and every device's counters, each read under that device's own lock (a snapshot per
// device, not across devices). It only copies: the guest never stops for it.
#include "devices/block/block_device.hpp"
#include "vmm/machine/machine_impl.hpp"

namespace minivmm {

namespace {

DiskStats disk_stats(const AttachedDisk& d) {
  block::BlockCounters c = d.device->counters();
  DiskStats s;
  s.id = d.id;
  s.path = d.device->path();
  s.read_only = d.device->read_only();
  s.capacity_bytes = d.device->capacity_sectors() * block::kSectorSize;
  s.requests = c.requests;
  s.read_bytes = c.bytes_read;
  s.write_bytes = c.bytes_written;
  s.errors = c.ioerr + c.unsupp + c.no_status;
  s.backing_swaps = d.device->backing_swaps();
  return s;
}

}  // namespace

std::vector<NetStats> Machine::Impl::collect_net_stats() const {
  std::vector<NetStats> out;
  for (const auto& dev : nets) {
    net::NetCounters c = dev->counters();
    NetStats s;
    s.tap_name = dev->tap_name();
    s.mac = dev->mac();
    s.link_up = c.link_up;
    s.rx_packets = c.rx_packets;
    s.rx_bytes = c.rx_bytes;
    s.rx_drops = c.rx_drops;
    s.rx_errors = c.rx_errors;
    s.tx_packets = c.tx_packets;
    s.tx_bytes = c.tx_bytes;
    s.tx_drops = c.tx_drops;
    s.tx_errors = c.tx_errors;
    out.push_back(std::move(s));
  }
  return out;
}

std::optional<VsockStats> Machine::Impl::collect_vsock_stats() const {
  if (!vsock) return std::nullopt;
  vsock::VsockCounters c = vsock->counters();
  VsockStats s;
  s.uds_path = vsock->uds_path();
  s.guest_cid = vsock->guest_cid();
  s.rx_packets = c.rx_packets;
  s.rx_bytes = c.rx_bytes;
  s.tx_packets = c.tx_packets;
  s.tx_bytes = c.tx_bytes;
  s.connections_opened = c.connections_opened;
  s.connections_reset = c.connections_reset;
  s.active_connections = c.active_connections;
  s.dropped_packets = c.dropped_packets;
  return s;
}

Metrics Machine::Impl::collect_metrics() const {
  Metrics m;
  m.state = lifecycle.state();
  if (int64_t start_ns = started_at_ns.load(); start_ns != 0)
    m.uptime = std::chrono::nanoseconds(
        std::chrono::steady_clock::now().time_since_epoch().count() - start_ns);
  for (const auto& v : vcpus) m.vcpus.push_back({v->index(), v->thread_id(), v->exits()});
  for (const auto& d : disks) m.disks.push_back(disk_stats(d));
  m.nets = collect_net_stats();
  m.vsock = collect_vsock_stats();
  for (size_t i = 0; i < fs_devices.size(); ++i) {
    fs::FsCounters c = fs_devices[i]->counters();
    FsStats s;
    s.tag = i < fs_tags.size() ? fs_tags[i] : std::string();
    s.backend_connected = c.backend_connected;
    s.activations = c.activations;
    s.requests_failed = c.requests_failed_after_loss;
    s.dropped_requests = c.malformed_after_loss;
    m.fs.push_back(std::move(s));
  }
  return m;
}

}  // namespace minivmm
