#include "edgerun/json_arena.hpp"

#include <cjson/cJSON.h>

#include <cstdint>
#include <cstdlib>
#include <mutex>

namespace edgerun {
namespace {

thread_local JsonArena* t_current_arena = nullptr;

void* arena_malloc(std::size_t bytes) {
  if (t_current_arena != nullptr) return t_current_arena->allocate(bytes);
  return std::malloc(bytes);
}

// Arena memory is released all at once by reset(); only heap blocks are freed.
void arena_free(void* pointer) {
  if (pointer == nullptr) return;
  if (t_current_arena != nullptr && t_current_arena->owns(pointer)) return;
  std::free(pointer);
}

}  // namespace

bool current_json_arena_exhausted() noexcept { return t_current_arena != nullptr && t_current_arena->exhausted(); }

void* JsonArena::allocate(std::size_t bytes) noexcept {
  // Align the address, not the offset: an arena may start anywhere.
  constexpr std::uintptr_t kAlign = alignof(std::max_align_t);
  const auto base = reinterpret_cast<std::uintptr_t>(memory_.data());
  const std::size_t start = static_cast<std::size_t>(((base + used_ + kAlign - 1) & ~(kAlign - 1)) - base);
  if (bytes > memory_.size() || start > memory_.size() - bytes) {
    exhausted_ = true;
    return nullptr;
  }
  used_ = start + bytes;
  if (used_ > high_water_.load(std::memory_order_relaxed)) high_water_.store(used_, std::memory_order_relaxed);
  return memory_.data() + start;
}

bool JsonArena::owns(const void* pointer) const noexcept {
  const auto address = reinterpret_cast<std::uintptr_t>(pointer);
  const auto base = reinterpret_cast<std::uintptr_t>(memory_.data());
  return address >= base && address < base + memory_.size();
}

void install_cjson_arena_hooks() noexcept {
  static std::once_flag once;
  std::call_once(once, [] {
    cJSON_Hooks hooks{arena_malloc, arena_free};
    cJSON_InitHooks(&hooks);
  });
}

ScopedJsonArena::ScopedJsonArena(JsonArena& arena) noexcept : arena_(arena), previous_(t_current_arena) {
  arena_.reset();
  t_current_arena = &arena_;
}

ScopedJsonArena::~ScopedJsonArena() {
  arena_.reset();
  t_current_arena = previous_;
}

}  // namespace edgerun
