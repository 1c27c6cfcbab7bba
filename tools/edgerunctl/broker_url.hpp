#pragma once

#include <string>
#include <string_view>

#include "result.hpp"

namespace edgerun::ctl {

// mqtt://host[:port] (default 1883) or mqtts://host[:port] (TLS, default
// 8883). IPv6 literals go in brackets: mqtt://[::1]:1883.
struct BrokerUrl {
  std::string host;
  int port = 1883;
  bool tls = false;
};

Result<BrokerUrl> parse_broker_url(std::string_view url);

}  // namespace edgerun::ctl
