// The io_uring IoEngine (liburing). Each job lives in a fixed slot (no reallocation while the
// kernel may hold pointers to its iovecs); the SQE user_data is the slot index. A job's steps are
// submitted one at a time: a CQE feeds IoJob::complete_step() and either the next step is queued
// or the job is finished. The ring has `depth` SQ entries and at most `depth` jobs, each with one
// step in flight, so the SQ and CQ can never overflow. Completions are announced through an
// eventfd registered with io_uring_register_eventfd. Owns the ring, not the file descriptor.
#include <liburing.h>
#include <sys/eventfd.h>

#include <deque>
#include <optional>

#include "devices/block/io_engine.hpp"
#include "vmm/sys/event_fd.hpp"

namespace minivmm::block {
namespace {

class UringEngine final : public IoEngine {
 public:
  UringEngine(int fd, unsigned depth, std::atomic<bool>* zero_range_ok, EventFd efd)
      : m_fd(fd), m_zero_range_ok(zero_range_ok), m_efd(std::move(efd)), m_slots(depth) {
    for (unsigned i = depth; i > 0; --i) m_free.push_back(i - 1);
  }
  ~UringEngine() override {
    if (!m_ring_ok) return;
    std::vector<IoCompletion> drop;
    drain(drop);  // the kernel must not touch guest buffers once we are gone
    io_uring_queue_exit(&m_ring);
  }

  /// io_uring_queue_init; -errno on failure (the destructor then leaves the ring alone).
  int init(unsigned depth) {
    int r = io_uring_queue_init(depth, &m_ring, 0);
    m_ring_ok = r == 0;
    return r;
  }
  io_uring* ring() noexcept { return &m_ring; }
  int event_fd() const noexcept override { return m_efd.fd(); }
  size_t in_flight() const noexcept override { return m_slots.size() - m_free.size(); }
  const char* name() const noexcept override { return "io_uring"; }

  bool submit(uint64_t tag, IoRequest req) override {
    if (m_free.empty()) return false;
    uint32_t slot = m_free.back();
    m_free.pop_back();
    m_slots[slot].emplace(tag, std::move(req), m_zero_range_ok);
    if (!queue_next(slot)) {
      m_efd.signal();  // finished without a step (empty transfer): announce it like a CQE
    }
    io_uring_submit(&m_ring);
    return true;
  }

  void reap(std::vector<IoCompletion>& out) override {
    m_efd.consume();
    collect(out);
    io_uring_cqe* cqe = nullptr;
    bool queued = false;
    while (io_uring_peek_cqe(&m_ring, &cqe) == 0) {
      uint32_t slot = static_cast<uint32_t>(io_uring_cqe_get_data64(cqe));
      int res = cqe->res;
      io_uring_cqe_seen(&m_ring, cqe);
      m_slots[slot]->complete_step(res);
      queued |= queue_next(slot);
    }
    if (queued) io_uring_submit(&m_ring);
    collect(out);
  }

  void drain(std::vector<IoCompletion>& out) override {
    while (true) {
      reap(out);
      if (in_flight() == 0) return;
      io_uring_submit_and_wait(&m_ring, 1);  // also pushes any SQE a failed submit left behind
    }
  }

 private:
  /// Queues the slot's next step; false when the job is finished (moved to m_done).
  bool queue_next(uint32_t slot) {
    auto step = m_slots[slot]->next();
    if (!step) {
      m_done.push_back(slot);
      return false;
    }
    io_uring_sqe* sqe = io_uring_get_sqe(&m_ring);  // never null: one step per slot <= depth
    switch (step->kind) {
      case IoStep::Kind::readv:
        io_uring_prep_readv(sqe, m_fd, step->iov, step->iovcnt, step->offset);
        break;
      case IoStep::Kind::writev:
        io_uring_prep_writev(sqe, m_fd, step->iov, step->iovcnt, step->offset);
        break;
      case IoStep::Kind::fdatasync:
        io_uring_prep_fsync(sqe, m_fd, IORING_FSYNC_DATASYNC);
        break;
      case IoStep::Kind::fallocate:
        io_uring_prep_fallocate(sqe, m_fd, step->mode, static_cast<off_t>(step->offset),
                                static_cast<off_t>(step->len));
        break;
    }
    io_uring_sqe_set_data64(sqe, slot);
    return true;
  }

  void collect(std::vector<IoCompletion>& out) {
    for (uint32_t slot : m_done) {
      auto& job = *m_slots[slot];
      out.push_back({job.tag(), job.op(), job.error()});
      m_slots[slot].reset();
      m_free.push_back(slot);
    }
    m_done.clear();
  }

  io_uring m_ring{};
  bool m_ring_ok = false;
  int m_fd;
  std::atomic<bool>* m_zero_range_ok;
  EventFd m_efd;
  std::vector<std::optional<IoJob>> m_slots;
  std::vector<uint32_t> m_free;
  std::vector<uint32_t> m_done;  ///< finished slots not yet reported
};

}  // namespace

Result<std::unique_ptr<IoEngine>> make_uring_engine(int fd, unsigned depth,
                                                    std::atomic<bool>* zero_range_ok) {
  auto efd = EventFd::create(EFD_NONBLOCK);
  if (!efd) return tl::unexpected(efd.error());
  auto engine = std::make_unique<UringEngine>(fd, depth, zero_range_ok, std::move(*efd));
  int r = engine->init(depth);
  if (r < 0) return errno_error_value(-r, "io_uring_queue_init entries={}", depth);
  r = io_uring_register_eventfd(engine->ring(), engine->event_fd());
  if (r < 0) return errno_error_value(-r, "io_uring_register_eventfd");
  return std::unique_ptr<IoEngine>(std::move(engine));
}

}  // namespace minivmm::block
