#pragma once
// The broker URL of PROTOCOL.md's `mqtt.url`, as the daemon's config, the
// EDGERUN_MQTT_URL variable, edgerunctl's --url and the benches take it:
// mqtt://host[:port] or mqtts://host[:port] (TLS), the port 1883 or 8883
// when omitted, IPv6 literals in brackets (mqtt://[::1]:1883), an optional
// trailing '/', and no user, path or query.

#include <cstdint>
#include <string>
#include <string_view>

namespace edgerun {

struct MqttUrl {
  std::string host;  // without the brackets of an IPv6 literal
  std::uint16_t port = 1883;
  bool tls = false;
};

// Parses `url` into `out`. Returns nullptr, or a static text saying what was
// expected (for "<where> is '<url>'; expected <text>"); `out` is then
// unspecified.
const char* parse_mqtt_url(std::string_view url, MqttUrl& out);

}  // namespace edgerun
