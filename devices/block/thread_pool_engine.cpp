// The thread-pool IoEngine: the fallback when io_uring is unavailable. A fixed number of workers
// take jobs from one queue and run each job's steps as blocking preadv / pwritev / fdatasync /
// fallocate calls, then push the finished job onto a completion list and signal the eventfd.
// Both lists together never hold more than `depth` jobs, so memory is bounded by the queue size.
// The destructor lets running jobs finish (they point into guest RAM), drops queued ones that
// never started, and joins every worker. Owns its threads, not the file descriptor.
#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "devices/block/io_engine.hpp"
#include "vmm/sys/event_fd.hpp"

namespace minivmm::block {
namespace {

int64_t perform(int fd, const IoStep& s) noexcept {
  ssize_t r = 0;
  switch (s.kind) {
    case IoStep::Kind::readv:
      r = ::preadv(fd, s.iov, static_cast<int>(s.iovcnt), static_cast<off_t>(s.offset));
      break;
    case IoStep::Kind::writev:
      r = ::pwritev(fd, s.iov, static_cast<int>(s.iovcnt), static_cast<off_t>(s.offset));
      break;
    case IoStep::Kind::fdatasync:
      r = ::fdatasync(fd);
      break;
    case IoStep::Kind::fallocate:
      r = ::fallocate(fd, s.mode, static_cast<off_t>(s.offset), static_cast<off_t>(s.len));
      break;
  }
  return r < 0 ? -static_cast<int64_t>(errno) : static_cast<int64_t>(r);
}

class ThreadPoolEngine final : public IoEngine {
 public:
  ThreadPoolEngine(int fd, unsigned depth, std::atomic<bool>* zero_range_ok, EventFd efd)
      : m_fd(fd), m_depth(depth), m_zero_range_ok(zero_range_ok), m_efd(std::move(efd)) {}
  ~ThreadPoolEngine() override {
    {
      std::lock_guard lock(m_mu);
      m_stopping = true;
      m_in_flight -= m_queue.size();
      m_queue.clear();
    }
    m_cv.notify_all();
    for (auto& t : m_workers) t.join();
  }

  void start(unsigned workers) {
    for (unsigned i = 0; i < workers; ++i) m_workers.emplace_back([this] { work(); });
  }

  int event_fd() const noexcept override { return m_efd.fd(); }
  size_t in_flight() const noexcept override {
    std::lock_guard lock(m_mu);
    return m_in_flight;
  }
  const char* name() const noexcept override { return "thread-pool"; }

  bool submit(uint64_t tag, IoRequest req) override {
    {
      std::lock_guard lock(m_mu);
      if (m_in_flight >= m_depth) return false;
      ++m_in_flight;
      m_queue.emplace_back(tag, std::move(req), m_zero_range_ok);
    }
    m_cv.notify_one();
    return true;
  }

  void reap(std::vector<IoCompletion>& out) override {
    m_efd.consume();
    std::lock_guard lock(m_mu);
    m_in_flight -= m_done.size();
    out.insert(out.end(), m_done.begin(), m_done.end());
    m_done.clear();
    m_drained.notify_all();
  }

  void drain(std::vector<IoCompletion>& out) override {
    std::unique_lock lock(m_mu);
    m_drained.wait(lock, [this] { return m_done.size() == m_in_flight; });
    m_in_flight = 0;
    out.insert(out.end(), m_done.begin(), m_done.end());
    m_done.clear();
  }

 private:
  void work() {
    std::unique_lock lock(m_mu);
    while (true) {
      m_cv.wait(lock, [this] { return m_stopping || !m_queue.empty(); });
      if (m_queue.empty()) return;  // stopping
      IoJob job = std::move(m_queue.front());
      m_queue.pop_front();
      lock.unlock();
      while (auto step = job.next()) job.complete_step(perform(m_fd, *step));
      lock.lock();
      m_done.push_back({job.tag(), job.op(), job.error()});
      m_drained.notify_all();
      m_efd.signal();
    }
  }

  const int m_fd;
  const size_t m_depth;
  std::atomic<bool>* m_zero_range_ok;
  EventFd m_efd;
  mutable std::mutex m_mu;
  std::condition_variable m_cv;       ///< workers: queue non-empty or stopping
  std::condition_variable m_drained;  ///< drain(): a job finished
  std::deque<IoJob> m_queue;
  std::vector<IoCompletion> m_done;
  size_t m_in_flight = 0;  ///< queued + running + done-but-not-reaped
  bool m_stopping = false;
  std::vector<std::thread> m_workers;
};

}  // namespace

Result<std::unique_ptr<IoEngine>> make_thread_pool_engine(int fd, unsigned depth, unsigned workers,
                                                          std::atomic<bool>* zero_range_ok) {
  auto efd = EventFd::create(EFD_NONBLOCK);
  if (!efd) return tl::unexpected(efd.error());
  auto engine = std::make_unique<ThreadPoolEngine>(fd, depth, zero_range_ok, std::move(*efd));
  engine->start(workers);
  return std::unique_ptr<IoEngine>(std::move(engine));
}

}  // namespace minivmm::block
