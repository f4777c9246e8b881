// Unit tests of the vsock packet layer: header encode/decode at the spec's offsets, TX packet
// validation (short headers, headers split across descriptors, CIDs, type, op, payload length
// against 64 KiB and the chain, payload gathering), and writing packets into RX chains
// (fitting, splitting across descriptors, refusing chains that are too small or readable).
#include "devices/vsock/vsock_packet.hpp"

#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "vsock_test_support.hpp"

namespace minivmm::vsock {
namespace {

TEST_SUITE_BEGIN("vsock/packet");

using test::ChainBuilder;
using test::guest_header;
using test::packet_bytes;

TEST_CASE("a header encodes at the offsets of struct virtio_vsock_hdr and decodes back") {
  VsockHeader h;
  h.src_cid = 0x1122334455667788ull;
  h.dst_cid = 2;
  h.src_port = 0xAABBCCDD;
  h.dst_port = 7;
  h.len = 300;
  h.type = VIRTIO_VSOCK_TYPE_STREAM;
  h.op = VIRTIO_VSOCK_OP_RW;
  h.flags = 3;
  h.buf_alloc = 0x40000;
  h.fwd_cnt = 0xFFFFFFFF;
  auto raw = h.encode();
  CHECK(raw[0] == 0x88);
  CHECK(raw[8] == 2);
  CHECK(raw[16] == 0xDD);
  CHECK(raw[20] == 7);
  CHECK(raw[24] == 0x2C);  // 300 = 0x12C
  CHECK(raw[28] == VIRTIO_VSOCK_TYPE_STREAM);
  CHECK(raw[30] == VIRTIO_VSOCK_OP_RW);
  CHECK(raw[32] == 3);
  CHECK(raw[38] == 4);  // 0x40000
  CHECK(raw[43] == 0xFF);
  VsockHeader d = VsockHeader::decode(raw);
  CHECK(d.src_cid == h.src_cid);
  CHECK(d.src_port == h.src_port);
  CHECK(d.len == 300);
  CHECK(d.fwd_cnt == 0xFFFFFFFF);
  CHECK(d.buf_alloc == 0x40000);
}

struct PacketFixture {
  GuestMemory mem = test::make_memory(1 << 20);
  std::vector<uint8_t> payload;
  TxPacket parse(const virtio::DescriptorChain& c, uint64_t cid = test::kGuestCid) {
    return parse_tx_packet(c, mem, cid, payload);
  }
};

TEST_CASE_FIXTURE(PacketFixture, "a well-formed RW packet is accepted with its payload") {
  ChainBuilder b(mem);
  b.readable(packet_bytes(guest_header(VIRTIO_VSOCK_OP_RW, 1000, 52, 5), "hello"));
  TxPacket p = parse(b.chain);
  CHECK(p.verdict == TxVerdict::ok);
  CHECK(p.header.src_port == 1000);
  CHECK(p.header.dst_port == 52);
  CHECK(std::string(payload.begin(), payload.end()) == "hello");
}

TEST_CASE_FIXTURE(PacketFixture, "header and payload split over several descriptors are gathered") {
  std::vector<uint8_t> bytes = packet_bytes(guest_header(VIRTIO_VSOCK_OP_RW, 1, 2, 6), "abcdef");
  ChainBuilder b(mem);
  b.readable({bytes.begin(), bytes.begin() + 7})
      .readable({bytes.begin() + 7, bytes.begin() + 46})
      .readable({bytes.begin() + 46, bytes.end()})
      .writable(64);  // ignored
  TxPacket p = parse(b.chain);
  REQUIRE(p.verdict == TxVerdict::ok);
  CHECK(std::string(payload.begin(), payload.end()) == "abcdef");
}

TEST_CASE_FIXTURE(PacketFixture, "a chain shorter than the header is malformed") {
  std::vector<uint8_t> bytes = packet_bytes(guest_header(VIRTIO_VSOCK_OP_RW, 1, 2));
  bytes.resize(43);
  ChainBuilder b(mem);
  b.readable(bytes).writable(100);
  CHECK(parse(b.chain).verdict == TxVerdict::malformed);
  ChainBuilder empty(mem);
  empty.writable(100);
  CHECK(parse(empty.chain).verdict == TxVerdict::malformed);
}

TEST_CASE_FIXTURE(PacketFixture, "a source CID that is not the guest's is dropped") {
  for (uint64_t cid : {0ull, 1ull, 2ull, 4ull, 0xFFFFFFFFull, 0x100000003ull}) {
    CAPTURE(cid);
    VsockHeader h = guest_header(VIRTIO_VSOCK_OP_REQUEST, 1, 2);
    h.src_cid = cid;
    ChainBuilder b(mem);
    b.readable(packet_bytes(h));
    CHECK(parse(b.chain).verdict == TxVerdict::drop);
  }
}

TEST_CASE_FIXTURE(PacketFixture, "a destination CID other than the host is dropped") {
  for (uint64_t cid : {0ull, 1ull, 3ull, 0xFFFFFFFFull, 0x100000002ull}) {
    CAPTURE(cid);
    VsockHeader h = guest_header(VIRTIO_VSOCK_OP_REQUEST, 1, 2);
    h.dst_cid = cid;
    ChainBuilder b(mem);
    b.readable(packet_bytes(h));
    CHECK(parse(b.chain).verdict == TxVerdict::drop);
  }
}

TEST_CASE_FIXTURE(PacketFixture, "unknown ops and types, SEQPACKET included, ask for RST") {
  for (int op : {0, 8, 0xFFFF}) {
    ChainBuilder b(mem);
    b.readable(packet_bytes(guest_header(static_cast<uint16_t>(op), 1, 2)));
    CHECK(parse(b.chain).verdict == TxVerdict::reset);
  }
  for (int type : {0, int{VIRTIO_VSOCK_TYPE_SEQPACKET}, 3, 0xFFFF}) {
    VsockHeader h = guest_header(VIRTIO_VSOCK_OP_REQUEST, 1, 2);
    h.type = static_cast<uint16_t>(type);
    ChainBuilder b(mem);
    b.readable(packet_bytes(h));
    CHECK(parse(b.chain).verdict == TxVerdict::reset);
  }
}

TEST_CASE_FIXTURE(PacketFixture, "a payload length above 64 KiB or above the chain asks for RST") {
  std::string big(kMaxPayload + 1, 'x');
  ChainBuilder b(mem);
  b.readable(packet_bytes(guest_header(VIRTIO_VSOCK_OP_RW, 1, 2, kMaxPayload + 1), big));
  CHECK(parse(b.chain).verdict == TxVerdict::reset);
  CHECK(payload.empty());

  ChainBuilder c(mem);
  c.readable(packet_bytes(guest_header(VIRTIO_VSOCK_OP_RW, 1, 2, 10), "12345"));
  CHECK(parse(c.chain).verdict == TxVerdict::reset);

  ChainBuilder d(mem);
  d.readable(packet_bytes(guest_header(VIRTIO_VSOCK_OP_RW, 1, 2, 0xFFFFFFFF)));
  CHECK(parse(d.chain).verdict == TxVerdict::reset);
  CHECK(payload.capacity() < (1u << 20));  // no allocation proportional to the length
}

TEST_CASE_FIXTURE(PacketFixture, "exactly 64 KiB of payload is accepted") {
  std::string data(kMaxPayload, 'q');
  ChainBuilder b(mem);
  b.readable(packet_bytes(guest_header(VIRTIO_VSOCK_OP_RW, 1, 2, kMaxPayload), data));
  CHECK(parse(b.chain).verdict == TxVerdict::ok);
  CHECK(payload.size() == kMaxPayload);
}

TEST_CASE_FIXTURE(PacketFixture, "the payload of control ops is ignored") {
  ChainBuilder b(mem);
  b.readable(packet_bytes(guest_header(VIRTIO_VSOCK_OP_REQUEST, 1, 2, 3), "abc"));
  TxPacket p = parse(b.chain);
  CHECK(p.verdict == TxVerdict::ok);
  CHECK(payload.empty());
}

TEST_CASE_FIXTURE(PacketFixture, "RX packets are written across descriptors with their length") {
  ChainBuilder b(mem);
  b.writable(20).writable(30).writable(100);
  REQUIRE(writable_chain_fits(b.chain, kHeaderSize + 1));
  CHECK(rx_payload_room(b.chain) == 150 - kHeaderSize);
  VsockHeader h = guest_header(VIRTIO_VSOCK_OP_RW, 7, 8, 5);
  std::string data = "world";
  uint32_t len = write_rx_packet(b.chain, mem, h, test::as_bytes(data));
  CHECK(len == kHeaderSize + 5);
  std::vector<uint8_t> back(kHeaderSize + 5);
  virtio::DescriptorChain as_readable = b.chain;
  for (auto& d : as_readable.descriptors) d.device_writable = false;
  as_readable.readable_len = as_readable.writable_len;
  REQUIRE(read_from_chain(as_readable, mem, 0, back));
  CHECK(VsockHeader::decode(std::span<const uint8_t, kHeaderSize>(back.data(), kHeaderSize))
            .src_port == 7);
  CHECK(std::string(back.begin() + kHeaderSize, back.end()) == "world");
}

TEST_CASE_FIXTURE(PacketFixture, "RX chains that are readable or too small are not usable") {
  ChainBuilder small(mem);
  small.writable(kHeaderSize);
  CHECK_FALSE(writable_chain_fits(small.chain, kHeaderSize + 1));
  CHECK(rx_payload_room(small.chain) == 0);
  ChainBuilder mixed(mem);
  mixed.readable(std::vector<uint8_t>(8)).writable(4096);
  CHECK_FALSE(writable_chain_fits(mixed.chain, kHeaderSize + 1));
  ChainBuilder huge(mem);
  huge.writable(200000);
  CHECK(rx_payload_room(huge.chain) == kMaxPayload);
  VsockHeader h;
  std::string too_much(10, 'x');
  CHECK(write_rx_packet(small.chain, mem, h, test::as_bytes(too_much)) == 0);
}

TEST_SUITE_END();

}  // namespace
}  // namespace minivmm::vsock
