// The split-ring ABI from <linux/virtio_ring.h> (virtio v1.2 2.7): constants, struct vring_desc
// and struct vring_used_elem. The header's legacy helpers (vring_init) do not compile as C++, so
// they are switched off here; include this instead of the uapi header. It deliberately offers no
// avail/used ring structs: those end in flexible arrays, so SplitQueue reads them at computed
// offsets.
#pragma once

#ifndef VIRTIO_RING_NO_LEGACY
#define VIRTIO_RING_NO_LEGACY
#endif
#include <linux/virtio_ring.h>

#include <bit>

static_assert(std::endian::native == std::endian::little, "virtio 1.x rings are little-endian");
static_assert(sizeof(vring_desc) == 16 && sizeof(vring_used_elem) == 8);
