// Attaching virtio devices to a machine being built: for each configured device, open its
// backend, wrap it in a virtio-mmio transport, register the transport's queue-notify ioeventfds
// and its irqfd with KVM, put it on the MMIO bus in its slot and announce it on the kernel
// command line. Only the builder calls this, before any thread starts.
#pragma once

#include <string>

#include "vmm/machine/config_validation.hpp"
#include "vmm/machine/machine_impl.hpp"
#include "vmm/machine/virtio_slots.hpp"

namespace minivmm {

/// Wraps `device` in a virtio-mmio transport in `slot`: registers one queue-notify ioeventfd per
/// queue and the irqfd with KVM and puts the transport on the MMIO bus under `name`. A
/// DEVICE_NEEDS_RESET of the device is reported as a device error of `api_name` ("vda", "eth0").
Result<void> attach_transport(Machine::Impl& m, std::shared_ptr<virtio::VirtioDevice> device,
                              const VirtioSlot& slot, const std::string& name,
                              const std::string& api_name);

/// The next free virtio slot, or an invalid_config error naming `what`.
Result<VirtioSlot> next_virtio_slot(const Machine::Impl& m, const std::string& what);

/// Attaches every disk of m.config; appends `virtio_mmio.device=` (and `root=` for a root disk)
/// to `cmdline`. Errors name the disk ("disks[1] /tmp/x.img: ...").
Result<void> attach_block_devices(Machine::Impl& m, std::string& cmdline);

/// Attaches every NIC of m.config (net_attach.cpp): opens or adopts the tap, creates the device.
/// Errors name the NIC ("nets[0] tap0: ...").
Result<void> attach_net_devices(Machine::Impl& m, std::string& cmdline);

/// Attaches the vsock device of m.config, if any (vsock_attach.cpp); its Unix socket exists when
/// this returns.
Result<void> attach_vsock_device(Machine::Impl& m, std::string& cmdline);

/// Attaches the virtio-fs devices of m.config (fs_attach.cpp): `fs` entries connect to a running
/// backend, `shares` start a virtiofsd each first. A root share or fs adds
/// `rootfstype=virtiofs root=TAG rw`.
Result<void> attach_fs_devices(Machine::Impl& m, std::string& cmdline);

}  // namespace minivmm
