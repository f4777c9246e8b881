#!/usr/bin/env python3
"""Writes the seed corpora of the virtio fuzzers (tests/fuzz/corpus/<target>/): small inputs
that describe valid queues and chains, so fuzzing starts from the interesting paths. The input
formats are documented at the top of split_queue_fuzz.cpp and mmio_transport_fuzz.cpp."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
NEXT, WRITE, INDIRECT = 1, 2, 4


def desc(addr, length, flags, nxt):
    return struct.pack("<QIHH", addr, length, flags, nxt)


def ram_with(entries, size=0x1300):
    ram = bytearray(size)
    for gpa, data in entries:
        ram[gpa:gpa + len(data)] = data
    return bytes(ram)


def split_seed(size, features, entries, ops=b""):
    ram = ram_with(entries)
    hdr = struct.pack("<HIIIBH", size, 0x1000, 0x1100, 0x1200, features, len(ram))
    return hdr + ram + ops


def avail(idx, heads):
    return struct.pack("<HH", 0, idx) + b"".join(struct.pack("<H", h) for h in heads)


def split_seeds():
    yield "simple_rw", split_seed(8, 0, [
        (0x1000, desc(0x4000, 64, NEXT, 1) + desc(0x4100, 32, WRITE, 0)),
        (0x1100, avail(1, [0]))])
    table = desc(0x4000, 16, NEXT, 1) + desc(0x4100, 512, NEXT | WRITE, 2) + desc(0x4400, 1, WRITE, 0)
    yield "indirect", split_seed(8, 1, [
        (0x1000, desc(0x2000, len(table), INDIRECT, 0)), (0x2000, table),
        (0x1100, avail(1, [0]))], ops=struct.pack("<HH", 0x1102, 1))
    yield "event_idx_two", split_seed(8, 2, [
        (0x1000, desc(0x4000, 8, 0, 0) + desc(0x4100, 8, WRITE, 0)),
        (0x1100, avail(2, [0, 1])), (0x1100 + 4 + 16, struct.pack("<H", 1))],
        ops=struct.pack("<HHHH", 0xffff, 0, 0x1106, 0) + struct.pack("<HH", 0x1102, 3))


def op(kind, offset, width_sel, value):
    return struct.pack("<BHBI", kind, offset, width_sel, value)


def mmio_init(features_lo=0x20000000, features_hi=1, notify=True):
    w = lambda off, v: op(1, off, 0, v)
    ops = [op(0, 0x000, 0, 0), w(0x070, 1), w(0x070, 3),
           w(0x024, 0), w(0x020, features_lo), w(0x024, 1), w(0x020, features_hi),
           w(0x070, 11), w(0x030, 0), w(0x038, 8), w(0x080, 0x1000), w(0x084, 0),
           w(0x090, 0x1100), w(0x094, 0), w(0x0a0, 0x1200), w(0x0a4, 0), w(0x044, 1)]
    # A two-descriptor chain at head 0 and avail idx 1, written as 32-bit words.
    chain = desc(0x4000, 64, NEXT, 1) + desc(0x4100, 32, WRITE, 0)
    for i in range(0, len(chain), 4):
        ops.append(op(2, (0x1000 + i) // 4, 0, struct.unpack_from("<I", chain, i)[0]))
    ops.append(op(2, 0x1100 // 4, 0, 1 << 16))
    ops.append(op(2, 0x1104 // 4, 0, 0))
    ops.append(w(0x070, 15))
    if notify:
        ops += [w(0x050, 0), op(0, 0x060, 0, 0), w(0x064, 1)]
    return b"".join(ops)


def mmio_seeds():
    yield "full_init_notify", mmio_init()
    yield "init_then_reset", mmio_init() + op(1, 0x070, 0, 0) + mmio_init()
    yield "config_access", b"".join([op(0, 0x100, 1, 0), op(1, 0x104, 0, 0x1234),
                                     op(0, 0x108, 3, 0), op(0, 0x0fc, 0, 0)])


for target, seeds in (("split_queue_fuzz", split_seeds()), ("mmio_transport_fuzz", mmio_seeds())):
    out = os.path.join(HERE, "corpus", target)
    os.makedirs(out, exist_ok=True)
    for name, data in seeds:
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
