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


# --- virtio-vsock (formats at the top of vsock_packet_fuzz.cpp and vsock_handshake_fuzz.cpp) ---

def vsock_hdr(op, src_port=1024, dst_port=1 << 30, length=0, flags=0, buf_alloc=0x40000,
              fwd_cnt=0, src_cid=3, dst_cid=2, vtype=1):
    return struct.pack("<QQIIIHHIII", src_cid, dst_cid, src_port, dst_port, length, vtype, op,
                       flags, buf_alloc, fwd_cnt)


def vsock_tx(packet, cuts=None):
    cuts = cuts or [len(packet)]
    return bytes([0, len(cuts)]) + b"".join(struct.pack("<H", c) for c in cuts) + packet


REQUEST, RESPONSE, RST, SHUTDOWN, RW, CREDIT_UPDATE, CREDIT_REQUEST = range(1, 8)


def vsock_packet_seeds():
    buf = struct.pack("<I", 0x40000)
    yield "handshake_and_data", buf + bytes([5]) + vsock_tx(vsock_hdr(RESPONSE)) + \
        vsock_tx(vsock_hdr(RW, length=5) + b"hello", [10, 39]) + b"\x01\x05\x00" + \
        b"\x06\x00\x10" + b"\x07\x01\x00\x10\x00\x01"
    yield "credit_and_shutdown", buf + bytes([5]) + vsock_tx(vsock_hdr(RESPONSE)) + \
        vsock_tx(vsock_hdr(CREDIT_REQUEST)) + b"\x05" + \
        vsock_tx(vsock_hdr(SHUTDOWN, flags=3)) + b"\x09\x04"
    yield "host_eof_then_rst", buf + bytes([5]) + vsock_tx(vsock_hdr(RESPONSE)) + b"\x02\x00\x05" + \
        vsock_tx(vsock_hdr(RST))
    yield "violations", struct.pack("<I", 16) + bytes([5]) + vsock_tx(vsock_hdr(RESPONSE)) + \
        vsock_tx(vsock_hdr(RW, length=32) + b"x" * 32) + \
        vsock_tx(vsock_hdr(RW, length=0xffff, vtype=2)) + vsock_tx(vsock_hdr(REQUEST, src_cid=2))
    yield "prefix_and_timeout", buf + b"\x08\x03abc\x02" + b"\x04" + b"\x03"
    yield "host_closed", buf + bytes([5]) + vsock_tx(vsock_hdr(RESPONSE)) + b"\x02\x01\x05" + \
        vsock_tx(vsock_hdr(RW, length=3) + b"abc") + b"\x04"


def vsock_handshake_seeds():
    yield "upper", b"\x00CONNECT 1024\n"
    yield "lower_with_data", b"\x00connect 52\nhello"
    yield "split_mixed_case", b"\x03\x02\x05\x01 \tCoNnEcT\t 4294967294 \r\n"
    yield "overflow", b"\x00CONNECT 4294967296\n"
    yield "overlong", b"\x01\x10CONNECT" + b" " * 60 + b"1\n"
    yield "garbage", b"\x02\x01\x01GET / HTTP/1.0\r\n"


for target, seeds in (("vsock_packet_fuzz", vsock_packet_seeds()),
                      ("vsock_handshake_fuzz", vsock_handshake_seeds())):
    out = os.path.join(HERE, "corpus", target)
    os.makedirs(out, exist_ok=True)
    for name, data in seeds:
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
