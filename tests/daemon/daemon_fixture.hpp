#pragma once
// Helpers of the edgerund integration tests: a config written to a temporary
// directory, the daemon started as a child process, and JSON checks of what
// the probe received.

#include <cjson/cJSON.h>
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>

#include "child_process.hpp"
#include "mosquitto_broker.hpp"
#include "mqtt_probe.hpp"

namespace edgerun::test {

using namespace std::chrono_literals;

struct JsonDeleter {
  void operator()(cJSON* json) const { cJSON_Delete(json); }
};
using Json = std::unique_ptr<cJSON, JsonDeleter>;

Json parse_json(const std::string& text);
// A string member ("" when missing), a number member (nullopt when missing).
std::string json_string(const cJSON* object, const char* key);
std::optional<double> json_number(const cJSON* object, const char* key);

// One edgerund process with its own config file and state directory.
class Daemon {
 public:
  // `device_id` is the <dev>; `edit` may change the config before it is written.
  Daemon(const MosquittoBroker& broker, std::string device_id,
         const std::function<void(cJSON& config)>& edit = {});
  ~Daemon();

  Status start(const SpawnOptions& options = {});
  // Waits until stderr says the daemon connected `count` times in all.
  bool wait_connected(int count = 1, std::chrono::milliseconds timeout = 10s);
  // Reads stderr until `needle` appears.
  bool wait_log(std::string_view needle, std::chrono::milliseconds timeout = 10s);

  ChildProcess& process() { return process_; }
  const std::string& device() const { return device_; }
  const std::string& config_path() const { return config_path_; }
  std::string topic(const std::string& leaf) const { return "edgerun/" + device_ + "/" + leaf; }

 private:
  std::string device_;
  std::string dir_;
  std::string config_path_;
  ChildProcess process_;
};

// A submitter probe connected to `broker` and subscribed to edgerun/#.
Status connect_submitter(MqttProbe& probe, const MosquittoBroker& broker);

// Publishes a submission {"v":1,"id","type","params",...extra}.
Status submit(MqttProbe& probe, const std::string& device, const std::string& id, const std::string& type,
              const std::string& params_json = "{}", const std::string& extra = "");

// Takes the next status message of job `id` and returns it parsed (null when
// none arrived in time).
Json next_status(MqttProbe& probe, const std::string& device, const std::string& id,
                 std::chrono::milliseconds timeout = 10s);
// Takes status messages of `id` until one has `state`; null when none did.
Json wait_state(MqttProbe& probe, const std::string& device, const std::string& id, const std::string& state,
                std::chrono::milliseconds timeout = 10s);

// Sets root[section][key] to `value`, making the section when it is missing.
void set_int(cJSON& root, const char* section, const char* key, double value);
// Sets journal.enabled to false: the daemon as it was before the journal.
void disable_journal(cJSON& root);

// Adds the exec job type `type` running `program` with `args` to the config,
// making the `exec` section when it is missing; returns its entry for more keys.
cJSON* add_exec_type(cJSON& root, const char* type, const char* program,
                     std::initializer_list<const char*> args = {});

// A broker on a free loopback port for each test, the daemon under test and a
// submitter probe subscribed to edgerun/#.
class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(broker_.start()) << "broker did not start"; }

  // Starts a daemon `device` with the config edited by `edit`, and the probe.
  void start_daemon(const std::string& device = "dev-t", const std::function<void(cJSON&)>& edit = {},
                    const SpawnOptions& options = {});

  std::string dev() const { return daemon_->device(); }

  // The rejection status of `id`, after checking its shape.
  void expect_rejected(const std::string& id, const std::string& code);

  MosquittoBroker broker_;
  MqttProbe probe_;
  std::unique_ptr<Daemon> daemon_;
};

}  // namespace edgerun::test
