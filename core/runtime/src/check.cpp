#include "edgerun/check.hpp"

#include <cstdio>
#include <cstdlib>

namespace edgerun {
namespace {

[[noreturn]] void abort_with_message(const char* what, const std::source_location& where) {
  std::fprintf(stderr, "<2>edgerun: invariant broken: %s at %s:%u (%s)\n", what, where.file_name(),
               static_cast<unsigned>(where.line()), where.function_name());
  std::abort();
}

InvariantHook g_hook = nullptr;

}  // namespace

void set_invariant_hook(InvariantHook hook) noexcept { g_hook = hook; }

void invariant_failed(const char* what, const std::source_location& where) noexcept {
  if (g_hook != nullptr) g_hook(what, where);
  // A hook that returns has not handled the failure; never continue past it.
  abort_with_message(what, where);
}

}  // namespace edgerun
