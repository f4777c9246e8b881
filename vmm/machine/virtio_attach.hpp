// Attaching virtio devices to a machine being built: for each configured device, open its
// backend, wrap it in a virtio-mmio transport, register the transport's queue-notify ioeventfds
// and its irqfd with KVM, put it on the MMIO bus in its slot and announce it on the kernel
// command line. Only the builder calls this, before any thread starts.
#pragma once

#include <string>

#include "vmm/machine/machine_impl.hpp"

namespace minivmm {

/// Attaches every disk of m.config; appends `virtio_mmio.device=` (and `root=` for a root disk)
/// to `cmdline`. Errors name the disk ("disks[1] /tmp/x.img: ...").
Result<void> attach_block_devices(Machine::Impl& m, std::string& cmdline);

}  // namespace minivmm
