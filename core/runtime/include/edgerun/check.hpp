#pragma once
// Broken invariants abort loudly through one hook that a firmware can replace
// (to log to its own crash store, blink an LED, reboot). Expected failures are
// values, never this.

#include <source_location>

namespace edgerun {

// Called with a description of the broken invariant; must not return.
using InvariantHook = void (*)(const char* what, const std::source_location& where);

// Replaces the hook; nullptr restores the default (print to stderr, abort()).
// Call before Runtime::start(); the hook is read without synchronisation.
void set_invariant_hook(InvariantHook hook) noexcept;

[[noreturn]] void invariant_failed(const char* what, const std::source_location& where) noexcept;

// Checks an invariant in every build type: these guard memory the core owns.
inline void check(bool condition, const char* what,
                  const std::source_location& where = std::source_location::current()) noexcept {
  if (!condition) [[unlikely]] invariant_failed(what, where);
}

}  // namespace edgerun
