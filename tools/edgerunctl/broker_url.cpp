#include "broker_url.hpp"

#include <string>

namespace edgerun::ctl {

Result<BrokerUrl> parse_broker_url(std::string_view url) {
  BrokerUrl out;
  if (const char* expected = parse_mqtt_url(url, out); expected != nullptr) {
    return Result<BrokerUrl>::fail("bad broker URL '" + std::string(url) + "': expected " + expected);
  }
  return Result<BrokerUrl>::ok(std::move(out));
}

}  // namespace edgerun::ctl
