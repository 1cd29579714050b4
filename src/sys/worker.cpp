#include "sys/worker.hpp"

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <system_error>
#include <unistd.h>

namespace hbmon {

Worker::Worker(Loop &loop) : ready_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (!ready_)
    throw std::system_error(errno, std::generic_category(), "eventfd");
  watch_ = loop.watch(ready_.get(), EPOLLIN, [this](std::uint32_t) { deliver(); });
  // The thread inherits the mask it is created with: all blocked, so no
  // signal is ever delivered to it instead of to the loop's signalfd.
  sigset_t all, old;
  ::sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  thread_ = std::thread([this] { run(); });
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

Worker::~Worker() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void Worker::post(Job job) {
  {
    std::lock_guard lock(mu_);
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
}

void Worker::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
    if (stop_)
      return;
    Job job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    Completion done = job();
    lock.lock();
    done_.push_back(std::move(done));
    const std::uint64_t one = 1;
    (void)!::write(ready_.get(), &one, sizeof one); // the counter cannot overflow here
  }
}

// One completion at a time, the eventfd reset only once none is left (under
// the lock the worker writes it with): a completion that throws leaves the
// others queued and the eventfd set, so they run on the next turn.
void Worker::deliver() {
  for (;;) {
    Completion done;
    {
      std::lock_guard lock(mu_);
      if (done_.empty()) {
        std::uint64_t count;
        (void)!::read(ready_.get(), &count, sizeof count);
        return;
      }
      done = std::move(done_.front());
      done_.pop_front();
    }
    if (done)
      done();
  }
}

} // namespace hbmon
