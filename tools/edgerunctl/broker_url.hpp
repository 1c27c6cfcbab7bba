#pragma once

#include <string_view>

#include "edgerun/mqtt_url.hpp"
#include "result.hpp"

namespace edgerun::ctl {

// --url and EDGERUN_MQTT_URL: the protocol's broker URL (edgerun/mqtt_url.hpp),
// with an error message for the command line.
using BrokerUrl = MqttUrl;

Result<BrokerUrl> parse_broker_url(std::string_view url);

}  // namespace edgerun::ctl
