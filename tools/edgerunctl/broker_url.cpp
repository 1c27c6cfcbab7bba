#include "broker_url.hpp"

#include <charconv>

namespace edgerun::ctl {

Result<BrokerUrl> parse_broker_url(std::string_view url) {
  const std::string quoted = "'" + std::string(url) + "'";
  BrokerUrl out;
  std::string_view rest;
  if (url.starts_with("mqtt://")) {
    rest = url.substr(7);
    out.port = 1883;
  } else if (url.starts_with("mqtts://")) {
    rest = url.substr(8);
    out.tls = true;
    out.port = 8883;
  } else {
    return Result<BrokerUrl>::fail("unsupported broker URL " + quoted +
                                   ": use mqtt://host:port or mqtts://host:port");
  }
  if (rest.ends_with('/')) rest.remove_suffix(1);

  std::string_view host;
  std::string_view port;
  if (rest.starts_with('[')) {
    std::size_t close = rest.find(']');
    if (close == std::string_view::npos) return Result<BrokerUrl>::fail("unclosed '[' in broker URL " + quoted);
    host = rest.substr(1, close - 1);
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Result<BrokerUrl>::fail("unexpected text after host in " + quoted);
      port = after.substr(1);
      if (port.empty()) return Result<BrokerUrl>::fail("empty port in broker URL " + quoted);
    }
  } else {
    std::size_t colon = rest.rfind(':');
    host = rest.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = rest.substr(colon + 1);
      if (port.empty()) return Result<BrokerUrl>::fail("empty port in broker URL " + quoted);
    }
  }
  if (host.empty()) return Result<BrokerUrl>::fail("no host in broker URL " + quoted);
  if (host.find_first_of("/?#@ ") != std::string_view::npos) {
    return Result<BrokerUrl>::fail("broker URL " + quoted + " must be scheme://host:port, nothing more");
  }
  if (!port.empty()) {
    int value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value < 1 || value > 65535) {
      return Result<BrokerUrl>::fail("bad port in broker URL " + quoted);
    }
    out.port = value;
  }
  out.host = std::string(host);
  return Result<BrokerUrl>::ok(std::move(out));
}

}  // namespace edgerun::ctl
