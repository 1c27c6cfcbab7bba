// For images without a service manager: the same interface, telling nobody.
#include "edgerun/port/notify.hpp"

namespace edgerun::port {

ServiceNotifier ServiceNotifier::from_environment() noexcept { return ServiceNotifier({}, std::nullopt); }

ServiceNotifier::ServiceNotifier(std::string_view, std::optional<std::chrono::microseconds>) noexcept {}

bool ServiceNotifier::send(std::string_view) const noexcept { return false; }

}  // namespace edgerun::port
