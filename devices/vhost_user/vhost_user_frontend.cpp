// Implementation of VhostUserFrontend: request/reply round trips over vhost_user_channel with the
// connection's timeout, strict reply checks, and the GuestMemory-to-memory-table translation.
// Every reply field is backend-controlled and checked before use.
#include "devices/vhost_user/vhost_user_frontend.hpp"

#include <fcntl.h>

#include <vector>

#include "devices/vhost_user/vhost_user_channel.hpp"

namespace minivmm::vhost_user {
namespace {

constexpr uint32_t kU64Size = sizeof(uint64_t);
constexpr uint32_t kVringStateSize = sizeof(vhost_vring_state);

std::string prefix(const std::string& name, Request r) {
  return fmt::format("vhost-user {} {}", name, request_name(r));
}

/// The host address of [gpa, gpa+len) when it is inside one region.
std::optional<uint64_t> host_address(const GuestMemory& mem, uint64_t gpa, uint64_t len) {
  auto s = mem.slice(gpa, len);
  if (!s) return std::nullopt;
  return reinterpret_cast<uint64_t>(s->data());
}

}  // namespace

Result<VhostUserFrontend> VhostUserFrontend::connect(const std::string& path,
                                                     std::chrono::milliseconds timeout) {
  auto sock = connect_unix(path, Deadline(timeout));
  if (!sock) return tl::unexpected(with_context(sock.error(), "vhost-user " + path + " connect"));
  return VhostUserFrontend(std::move(*sock), path, timeout);
}

VhostUserFrontend VhostUserFrontend::adopt(UniqueFd socket, std::string name,
                                           std::chrono::milliseconds timeout) {
  int flags = ::fcntl(socket.get(), F_GETFL);
  if (flags >= 0) ::fcntl(socket.get(), F_SETFL, flags | O_NONBLOCK);
  return VhostUserFrontend(std::move(socket), std::move(name), timeout);
}

void VhostUserFrontend::close(const std::string& why) {
  if (!m_broken) m_broken = Error(make_error_code(ErrorCode::invalid_state), why);
  m_sock.reset();
}

tl::unexpected<Error> VhostUserFrontend::fail(Request r, const Error& e) {
  Error full = with_context(e, prefix(m_name, r));
  if (!m_broken) m_broken = full;
  m_sock.reset();
  return tl::unexpected(full);
}

Result<Message> VhostUserFrontend::receive_reply(Request r, uint32_t reply_size,
                                                 const Deadline& d) {
  auto rx = recv_message(m_sock.get(), d);
  if (!rx) return fail(r, rx.error());
  // Backend-controlled: descriptors are never part of a reply minivmm asks for.
  if (!rx->fds.empty())
    return fail(r,
                Error(make_error_code(ErrorCode::invalid_state),
                      fmt::format("reply carries {} unexpected file descriptors", rx->fds.size())));
  // Backend-controlled: the header must answer exactly this request.
  const Header& h = rx->message.header;
  if (ReplyFault f = check_reply(h, r, reply_size); f != ReplyFault::none)
    return fail(r, Error(make_error_code(ErrorCode::invalid_state),
                         fmt::format("bad reply (request {} flags {:#x} size {}): {}", h.request,
                                     h.flags, h.size, describe(f))));
  // Bytes beyond the announced size would desynchronise the stream.
  bool eof = false;
  if (readable_now(m_sock.get(), eof) && !eof)
    return fail(
        r, Error(make_error_code(ErrorCode::invalid_state), "unexpected bytes after the reply"));
  return std::move(rx->message);
}

Result<Message> VhostUserFrontend::transact(const Message& m, uint32_t reply_size) {
  Request r = static_cast<Request>(m.header.request);
  if (m_broken) return tl::unexpected(with_context(*m_broken, prefix(m_name, r) + " refused"));
  Deadline d(m_timeout);  // one budget for the whole round trip
  if (auto s = send_message(m_sock.get(), m, {}, d); !s) return fail(r, s.error());
  return receive_reply(r, reply_size, d);
}

Result<void> VhostUserFrontend::send_no_reply(Message m, std::span<const int> fds) {
  Request r = static_cast<Request>(m.header.request);
  if (m_broken) return tl::unexpected(with_context(*m_broken, prefix(m_name, r) + " refused"));
  if (m_reply_ack) m.header.flags |= kFlagNeedReply;
  Deadline d(m_timeout);
  if (auto s = send_message(m_sock.get(), m, fds, d); !s) return fail(r, s.error());
  if (!m_reply_ack) return {};
  MINIVMM_TRY(ack, receive_reply(r, kU64Size, d));
  // Backend-controlled: the acknowledgement; 0 is success, anything else a refusal.
  if (uint64_t status = decode_u64(ack); status != 0)
    return fail(r, Error(make_error_code(ErrorCode::invalid_state),
                         fmt::format("backend refused the request (status {})", status)));
  return {};
}

Result<uint64_t> VhostUserFrontend::get_features() {
  MINIVMM_TRY(reply, transact(encode_empty(Request::get_features), kU64Size));
  return decode_u64(reply);
}

Result<void> VhostUserFrontend::set_features(uint64_t features) {
  return send_no_reply(encode_u64(Request::set_features, features));
}

Result<uint64_t> VhostUserFrontend::get_protocol_features() {
  MINIVMM_TRY(reply, transact(encode_empty(Request::get_protocol_features), kU64Size));
  return decode_u64(reply);
}

Result<void> VhostUserFrontend::set_protocol_features(uint64_t features) {
  // Sent before REPLY_ACK takes effect: the acknowledgement mode starts with the next request.
  MINIVMM_TRY_VOID(send_no_reply(encode_u64(Request::set_protocol_features, features)));
  m_reply_ack = (features >> kProtocolReplyAck) & 1;
  return {};
}

Result<uint64_t> VhostUserFrontend::get_queue_num() {
  MINIVMM_TRY(reply, transact(encode_empty(Request::get_queue_num), kU64Size));
  return decode_u64(reply);
}

Result<void> VhostUserFrontend::set_owner() {
  return send_no_reply(encode_empty(Request::set_owner));
}

Result<void> VhostUserFrontend::reset_owner() {
  return send_no_reply(encode_empty(Request::reset_owner));
}

Result<void> VhostUserFrontend::set_mem_table(const GuestMemory& mem) {
  if (mem.memfd() < 0)
    return make_error(ErrorCode::invalid_state,
                      "vhost-user: guest memory is private (no memfd) and cannot be shared");
  std::vector<MemoryRegion> regions;
  for (const GuestRegion& r : mem.regions())
    regions.push_back({r.gpa, r.size, reinterpret_cast<uint64_t>(r.host), r.fd_offset});
  auto m = encode_memory_table(regions);
  if (!m) return fail(Request::set_mem_table, m.error());
  // The same memfd backs every region; each region needs its own copy in SCM_RIGHTS.
  std::vector<int> fds(regions.size(), mem.memfd());
  return send_no_reply(*m, fds);
}

Result<void> VhostUserFrontend::set_vring_num(uint32_t index, uint32_t num) {
  return send_no_reply(encode_vring_state(Request::set_vring_num, index, num));
}

Result<void> VhostUserFrontend::set_vring_addr(uint32_t index, const GuestMemory& mem,
                                               const VringGpas& ring) {
  auto desc = host_address(mem, ring.desc, 16ull * ring.size);
  auto avail = host_address(mem, ring.avail, 6 + 2ull * ring.size);
  auto used = host_address(mem, ring.used, 6 + 8ull * ring.size);
  if (!desc || !avail || !used)
    return fail(Request::set_vring_addr,
                Error(make_error_code(ErrorCode::invalid_config),
                      fmt::format("ring {} is not inside guest RAM", index)));
  vhost_vring_addr a{};
  a.index = index;
  a.desc_user_addr = *desc;
  a.avail_user_addr = *avail;
  a.used_user_addr = *used;
  return send_no_reply(encode_vring_addr(a));
}

Result<void> VhostUserFrontend::set_vring_base(uint32_t index, uint32_t base) {
  return send_no_reply(encode_vring_state(Request::set_vring_base, index, base));
}

Result<uint32_t> VhostUserFrontend::get_vring_base(uint32_t index) {
  MINIVMM_TRY(reply,
              transact(encode_vring_state(Request::get_vring_base, index, 0), kVringStateSize));
  vhost_vring_state s = decode_vring_state(reply);
  // Backend-controlled: the state must name the ring asked about.
  if (s.index != index)
    return fail(Request::get_vring_base,
                Error(make_error_code(ErrorCode::invalid_state),
                      fmt::format("reply names ring {} instead of {}", s.index, index)));
  return s.num;
}

Result<void> VhostUserFrontend::set_vring_kick(uint32_t index, int fd) {
  const int fds[] = {fd};
  return send_no_reply(encode_u64(Request::set_vring_kick, index & kVringIndexMask), fds);
}

Result<void> VhostUserFrontend::set_vring_call(uint32_t index, int fd) {
  const int fds[] = {fd};
  return send_no_reply(encode_u64(Request::set_vring_call, index & kVringIndexMask), fds);
}

Result<void> VhostUserFrontend::set_vring_enable(uint32_t index, bool enable) {
  return send_no_reply(encode_vring_state(Request::set_vring_enable, index, enable ? 1 : 0));
}

}  // namespace minivmm::vhost_user
