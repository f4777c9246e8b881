// The JSON keys of every MachineConfig struct, listed once: visit_fields(visitor, config) calls
// `visitor(key, field)` for each field that has a JSON form, and both the strict reader
// (json_reader.hpp) and the writer (json_writer.hpp) are such visitors, so parsing, printing and
// the schema in include/minivmm/CONFIG.md cannot drift apart key by key. Keys are the C++ field
// names. Callbacks (on_output, on_boot_timer, on_state_change, on_device_error) have no key.
#pragma once

#include <minivmm/config.hpp>

namespace minivmm {

template <typename V>
void visit_fields(V& v, ConsoleConfig& c) {
  v("output", c.output);
  v("path", c.path);
  v("stdin_input", c.stdin_input);
}

template <typename V>
void visit_fields(V& v, DiskConfig& d) {
  v("id", d.id);
  v("path", d.path);
  v("read_only", d.read_only);
  v("serial", d.serial);
  v("root", d.root);
}

template <typename V>
void visit_fields(V& v, NetConfig& n) {
  v("tap_name", n.tap_name);
  v("tap_fd", n.tap_fd);
  v("mac", n.mac);
  v("mtu", n.mtu);
}

template <typename V>
void visit_fields(V& v, VsockConfig& s) {
  v("guest_cid", s.guest_cid);
  v("uds_path", s.uds_path);
}

template <typename V>
void visit_fields(V& v, FsConfig& f) {
  v("tag", f.tag);
  v("socket_path", f.socket_path);
  v("root", f.root);
}

template <typename V>
void visit_fields(V& v, ShareConfig& s) {
  v("tag", s.tag);
  v("dir", s.dir);
  v("read_only", s.read_only);
  v("root", s.root);
  v("virtiofsd_path", s.virtiofsd_path);
}

template <typename V>
void visit_fields(V& v, MachineConfig& m) {
  v("vcpus", m.vcpus);
  v("memory_mib", m.memory_mib);
  v("kernel_path", m.kernel_path);
  v("initrd_path", m.initrd_path);
  v("cmdline", m.cmdline);
  v("console", m.console);
  v("disks", m.disks);
  v("nets", m.nets);
  v("vsock", m.vsock);
  v("fs", m.fs);
  v("shares", m.shares);
}

}  // namespace minivmm
