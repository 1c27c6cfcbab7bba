// Thread naming and start-up for Linux through pthread_setname_np(3) and
// pthread_getname_np(3), which glibc and musl both provide.
#include "edgerun/port/thread.hpp"

#include "edgerun/port/signal.hpp"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <system_error>
#include <utility>

namespace edgerun::port {
namespace {

// A name already cut to what the kernel keeps, NUL-terminated.
using ThreadName = std::array<char, max_thread_name_length + 1>;

ThreadName cut_name(std::string_view name) noexcept {
  ThreadName buf{};
  name = name.substr(0, std::min(name.find('\0'), max_thread_name_length));
  std::copy(name.begin(), name.end(), buf.begin());
  return buf;
}

}  // namespace

void set_current_thread_name(std::string_view name) noexcept {
  const ThreadName buf = cut_name(name);
  // With the name cut to 15 bytes, pthread_setname_np on the calling thread
  // can no longer fail with ERANGE, and the kernel has no other reason to
  // refuse it.
  (void)pthread_setname_np(pthread_self(), buf.data());
}

std::size_t current_thread_name(std::span<char> out) noexcept {
  if (out.empty()) {
    return 0;
  }
  // pthread_getname_np wants room for the longest name, which the caller's
  // buffer may not have, so read into our own and copy what fits.
  ThreadName buf{};
  if (pthread_getname_np(pthread_self(), buf.data(), buf.size()) != 0) {
    out[0] = '\0';
    return 0;
  }
  const std::size_t len = std::min(std::strlen(buf.data()), out.size() - 1);
  std::copy_n(buf.data(), len, out.data());
  out[len] = '\0';
  return len;
}

std::thread spawn_named_thread(std::string_view name, std::function<void()> fn) {
  if (!fn) {
    throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                            "spawn_named_thread: empty function");
  }
  // A new thread inherits its creator's signal mask. Blocking the signals
  // here, around the creation, means the new thread never runs with them
  // unblocked; blocking them as the new thread's first step would leave a
  // window in which a SIGTERM could land on a worker and be lost to the loop.
  sigset_t saved;
  (void)pthread_sigmask(SIG_SETMASK, nullptr, &saved);
  block_termination_signals_in_this_thread();
  struct RestoreMask {
    const sigset_t& mask;
    ~RestoreMask() { (void)pthread_sigmask(SIG_SETMASK, &mask, nullptr); }
  } restore{saved};

  // The name is copied now because the caller's string_view may not outlive
  // this call.
  return std::thread([thread_name = cut_name(name), body = std::move(fn)] {
    (void)pthread_setname_np(pthread_self(), thread_name.data());
    body();
  });
}

}  // namespace edgerun::port
