#pragma once
// cJSON allocates through global hooks. edgerun installs hooks that allocate
// from the calling thread's current JsonArena, a bump allocator over memory
// allocated once at start, so parsing a submission or building a result does
// not touch the heap. A thread with no current arena falls back to malloc, so
// cJSON keeps working for code outside the job path (config loading, tools).
//
// Caveat for embedders: cJSON_InitHooks is process-global; a firmware that
// installs its own cJSON hooks must not do so after Runtime::start().

#include <atomic>
#include <cstddef>
#include <span>

namespace edgerun {

class JsonArena {
 public:
  JsonArena() noexcept = default;
  explicit JsonArena(std::span<std::byte> memory) noexcept : memory_(memory) {}
  JsonArena(const JsonArena&) = delete;
  JsonArena& operator=(const JsonArena&) = delete;

  // Gives an arena made with the default constructor its memory.
  void assign(std::span<std::byte> memory) noexcept {
    memory_ = memory;
    reset();
  }

  void* allocate(std::size_t bytes) noexcept;
  void reset() noexcept { used_ = 0; exhausted_ = false; }

  bool owns(const void* pointer) const noexcept;
  // True once an allocation did not fit since the last reset.
  bool exhausted() const noexcept { return exhausted_; }
  std::size_t used() const noexcept { return used_; }
  // Any thread (the metrics read it while the owner allocates).
  std::size_t high_water() const noexcept { return high_water_.load(std::memory_order_relaxed); }
  std::size_t capacity() const noexcept { return memory_.size(); }

 private:
  std::span<std::byte> memory_;
  std::size_t used_ = 0;
  std::atomic<std::size_t> high_water_{0};
  bool exhausted_ = false;
};

// True when the calling thread has a current arena and an allocation from it
// failed since its last reset: a failed parse then means "too big", not "bad".
bool current_json_arena_exhausted() noexcept;

// Installs the hooks (once per process; later calls do nothing).
void install_cjson_arena_hooks() noexcept;

// Makes `arena` the calling thread's current arena for its lifetime, reset on
// entry and on exit. Every cJSON object made inside must be dropped before the
// scope ends; cJSON_Delete of them is harmless but not needed.
class ScopedJsonArena {
 public:
  explicit ScopedJsonArena(JsonArena& arena) noexcept;
  ~ScopedJsonArena();
  ScopedJsonArena(const ScopedJsonArena&) = delete;
  ScopedJsonArena& operator=(const ScopedJsonArena&) = delete;

 private:
  JsonArena& arena_;
  JsonArena* previous_;
};

}  // namespace edgerun
