#include "edgerun/mqtt_url.hpp"

#include <algorithm>
#include <charconv>

#include "edgerun/ids.hpp"

namespace edgerun {

const char* parse_mqtt_url(std::string_view url, MqttUrl& out) {
  std::string_view rest;
  if (url.starts_with("mqtt://")) {
    rest = url.substr(7);
    out.tls = false;
    out.port = 1883;
  } else if (url.starts_with("mqtts://")) {
    rest = url.substr(8);
    out.tls = true;
    out.port = 8883;
  } else {
    return "mqtt://host:port or mqtts://host:port";
  }
  if (rest.ends_with('/')) rest.remove_suffix(1);

  std::string_view host;
  std::string_view port;
  bool has_port = false;
  bool bracketed = false;
  if (rest.starts_with('[')) {
    const std::size_t close = rest.find(']');
    if (close == std::string_view::npos) return "a closing ']' after an IPv6 address (mqtt://[::1]:1883)";
    host = rest.substr(1, close - 1);
    bracketed = true;
    const std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return "a ':' and a port after the ']' of an IPv6 address";
      port = after.substr(1);
      has_port = true;
    }
  } else {
    const std::size_t colon = rest.rfind(':');
    host = rest.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = rest.substr(colon + 1);
      has_port = true;
    }
  }
  if (host.empty()) return "a host name or address after the scheme (mqtt://host:port)";
  const bool host_ok = std::all_of(host.begin(), host.end(), [bracketed](char c) {
    return is_id_char(c) || (bracketed && (c == ':' || c == '%'));
  });
  if (!host_ok || (bracketed && host.find(':') == std::string_view::npos)) {
    return "mqtt://host:port or mqtts://host:port with a host name, an IPv4 address or an [IPv6] address, "
           "and no user, path or query";
  }
  if (has_port) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value < 1 || value > 65535) {
      return "a port from 1 to 65535";
    }
    out.port = static_cast<std::uint16_t>(value);
  }
  out.host = std::string(host);
  return nullptr;
}

}  // namespace edgerun
