#pragma once

#include <optional>
#include <string_view>

namespace edgerun::ctl {

std::string_view general_help();
// Empty when `command` is not a command.
std::optional<std::string_view> command_help(std::string_view command);

}  // namespace edgerun::ctl
