// The virtio-net ABI from <linux/virtio_net.h> (virtio v1.2 5.1): feature bits, struct
// virtio_net_hdr_v1, struct virtio_net_config and the status bits. The uapi header names a field
// of its control-queue header `class`, which is a C++ keyword, so it is included here with that
// one identifier renamed (its own dependencies are included first so nothing else sees the
// macro); include this instead of the uapi header. It defines no constants of its own.
#pragma once

#include <linux/if_ether.h>
#include <linux/types.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_types.h>

#define class virtio_net_ctrl_class
#include <linux/virtio_net.h>
#undef class

#include <bit>

static_assert(std::endian::native == std::endian::little, "virtio 1.x headers are little-endian");
static_assert(sizeof(virtio_net_hdr_v1) == 12);
