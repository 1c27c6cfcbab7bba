#pragma once
// Threads of the platform layer: naming, and starting worker threads.
//
// Thread names show up in top -H, ps -L, gdb and core dumps, which is often
// all there is to go on when a device misbehaves in the field.

#include <cstddef>
#include <functional>
#include <span>
#include <string_view>
#include <thread>

namespace edgerun::port {

// The longest thread name the platform keeps, without the terminating NUL.
// Linux keeps 15 bytes (TASK_COMM_LEN - 1).
inline constexpr std::size_t max_thread_name_length = 15;

// Names the calling thread. A name longer than max_thread_name_length bytes
// is cut to that length here (by bytes, so a multi-byte UTF-8 character at
// the cut may be split), because Linux refuses longer names instead of
// truncating them. The name also ends at an embedded NUL. Any thread may
// call it; it names only itself. It cannot fail for any input, so it
// returns nothing.
void set_current_thread_name(std::string_view name) noexcept;

// Writes the calling thread's name into out, NUL-terminated, and returns its
// length without the NUL. If out is too small for the whole name, the name is
// cut to out.size() - 1 bytes and that length is returned. Returns 0, with
// out[0] set to NUL when out is not empty, when out is empty or the name
// cannot be read (the latter does not happen on Linux for the calling
// thread); an unnamed thread's name is its program's name, so 0 does not mean
// "no name". Any thread may call it; it does not allocate.
std::size_t current_thread_name(std::span<char> out) noexcept;

// Starts a thread that is named `name` (cut as by set_current_thread_name),
// runs with the termination signals blocked (as after
// block_termination_signals_in_this_thread) from its first instruction, and
// then runs fn. The caller owns the returned thread and must join it.
//
// Unlike the rest of the port layer this may throw, and only at start-up:
// std::system_error when the thread cannot be created (as std::thread's
// constructor does; std::errc::resource_unavailable_try_again when the system
// is out of threads), std::system_error with std::errc::invalid_argument when
// fn is empty, and std::bad_alloc when fn cannot be stored. An exception that
// escapes fn ends the process with std::terminate, as with std::thread.
// Any thread may call it; it leaves the caller's signal mask as it was.
std::thread spawn_named_thread(std::string_view name, std::function<void()> fn);

// Tells the CPU the calling thread is spinning on a shared variable: it
// saves power and gives the core to the sibling hyperthread instead of
// flooding the memory bus with speculative loads.
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
  asm volatile("yield" ::: "memory");
#endif
}

}  // namespace edgerun::port
