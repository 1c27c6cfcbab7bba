#include "daemon_fixture.hpp"

#include <unistd.h>

#include <csignal>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace edgerun::test {

Json parse_json(const std::string& text) { return Json(cJSON_ParseWithLength(text.data(), text.size())); }

std::string json_string(const cJSON* object, const char* key) {
  const cJSON* item = cJSON_GetObjectItemCaseSensitive(object, key);
  return cJSON_IsString(item) ? item->valuestring : "";
}

std::optional<double> json_number(const cJSON* object, const char* key) {
  const cJSON* item = cJSON_GetObjectItemCaseSensitive(object, key);
  if (!cJSON_IsNumber(item)) return std::nullopt;
  return item->valuedouble;
}

namespace {
cJSON* child_object(cJSON* parent, const char* key) {
  cJSON* item = cJSON_GetObjectItemCaseSensitive(parent, key);
  if (item == nullptr) item = cJSON_AddObjectToObject(parent, key);
  return item;
}
}  // namespace

Daemon::Daemon(const MosquittoBroker& broker, std::string device_id, const std::function<void(cJSON&)>& edit)
    : device_(std::move(device_id)) {
  char tmpl[] = "/tmp/edgerund-test-XXXXXX";
  const char* made = mkdtemp(tmpl);
  dir_ = made != nullptr ? made : "/tmp";
  config_path_ = dir_ + "/edgerun.json";

  Json config(cJSON_CreateObject());
  cJSON* root = config.get();
  cJSON_AddStringToObject(root, "device_id", device_.c_str());
  cJSON_AddNumberToObject(root, "workers", 2);
  cJSON_AddStringToObject(root, "state_dir", (dir_ + "/state").c_str());
  cJSON* mqtt = child_object(root, "mqtt");
  cJSON_AddStringToObject(mqtt, "url", broker.url().c_str());
  cJSON_AddNumberToObject(mqtt, "keepalive_s", 5);
  cJSON_AddNumberToObject(mqtt, "reconnect_min_ms", 50);
  cJSON_AddNumberToObject(mqtt, "reconnect_max_ms", 400);
  cJSON* telemetry = child_object(root, "telemetry");
  cJSON_AddNumberToObject(telemetry, "interval_ms", 300);
  cJSON_AddNumberToObject(telemetry, "presence_interval_s", 10);
  cJSON* shutdown = child_object(root, "shutdown");
  cJSON_AddNumberToObject(shutdown, "grace_ms", 5000);
  child_object(root, "jobs");
  if (edit) edit(*root);
  char* text = cJSON_Print(root);
  std::ofstream(config_path_) << text;
  cJSON_free(text);
  std::filesystem::create_directories(dir_ + "/state");
}

Daemon::~Daemon() {
  if (process_.pid() > 0) {
    process_.send_signal(SIGKILL);
    process_.wait(5s);
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

Status Daemon::start(const SpawnOptions& options) {
  return process_.start(EDGERUND_PATH, {"--config", config_path_}, options);
}

bool Daemon::wait_connected(int count, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    std::size_t found = 0;
    for (std::size_t at = process_.err().find("mqtt: connected"); at != std::string::npos;
         at = process_.err().find("mqtt: connected", at + 1)) {
      ++found;
    }
    if (found >= static_cast<std::size_t>(count)) return true;
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    // Reads more output; the needle never appears.
    process_.wait_for_stderr("\x01never\x01", std::min<std::chrono::milliseconds>(
                                                  100ms, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now)));
  }
}

bool Daemon::wait_log(std::string_view needle, std::chrono::milliseconds timeout) {
  return process_.wait_for_stderr(needle, timeout);
}

Status connect_submitter(MqttProbe& probe, const MosquittoBroker& broker) {
  if (Status s = probe.connect(broker); !s) return s;
  return probe.subscribe("edgerun/#", 1);
}

Status submit(MqttProbe& probe, const std::string& device, const std::string& id, const std::string& type,
              const std::string& params_json, const std::string& extra) {
  std::string payload = R"({"v":1,"id":")" + id + R"(","type":")" + type + R"(","params":)" + params_json;
  if (!extra.empty()) payload += "," + extra;
  payload += "}";
  return probe.publish("edgerun/" + device + "/jobs/submit", payload, 1);
}

Json next_status(MqttProbe& probe, const std::string& device, const std::string& id,
                 std::chrono::milliseconds timeout) {
  const std::string topic = "edgerun/" + device + "/jobs/" + id + "/status";
  auto message = probe.wait_for_topic(topic, timeout);
  if (!message) return nullptr;
  return parse_json(message->payload);
}

Json wait_state(MqttProbe& probe, const std::string& device, const std::string& id, const std::string& state,
                std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return nullptr;
    Json status = next_status(probe, device, id, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now));
    if (!status) return nullptr;
    if (json_string(status.get(), "state") == state) return status;
  }
}

void set_int(cJSON& root, const char* section, const char* key, double value) {
  cJSON* object = cJSON_GetObjectItemCaseSensitive(&root, section);
  if (object == nullptr) object = cJSON_AddObjectToObject(&root, section);
  cJSON_DeleteItemFromObjectCaseSensitive(object, key);
  cJSON_AddNumberToObject(object, key, value);
}

void disable_journal(cJSON& root) {
  cJSON* journal = cJSON_GetObjectItemCaseSensitive(&root, "journal");
  if (journal == nullptr) journal = cJSON_AddObjectToObject(&root, "journal");
  cJSON_DeleteItemFromObjectCaseSensitive(journal, "enabled");
  cJSON_AddFalseToObject(journal, "enabled");
}

cJSON* add_exec_type(cJSON& root, const char* type, const char* program, std::initializer_list<const char*> args) {
  cJSON* exec = child_object(&root, "exec");
  cJSON* entry = cJSON_AddObjectToObject(exec, type);
  cJSON_AddStringToObject(entry, "program", program);
  if (args.size() != 0) {
    cJSON* list = cJSON_AddArrayToObject(entry, "args");
    for (const char* arg : args) cJSON_AddItemToArray(list, cJSON_CreateString(arg));
  }
  return entry;
}

void DaemonTest::start_daemon(const std::string& device, const std::function<void(cJSON&)>& edit,
                              const SpawnOptions& options) {
  daemon_ = std::make_unique<Daemon>(broker_, device, edit);
  const Status started = daemon_->start(options);
  ASSERT_TRUE(started) << started.message;
  ASSERT_TRUE(daemon_->wait_connected()) << daemon_->process().err();
  if (!probe_.connected()) {
    const Status connected = connect_submitter(probe_, broker_);
    ASSERT_TRUE(connected) << connected.message;
  }
}

void DaemonTest::expect_rejected(const std::string& id, const std::string& code) {
  Json status = next_status(probe_, dev(), id);
  ASSERT_TRUE(status) << "no status for " << id << "\n" << daemon_->process().err();
  EXPECT_EQ(json_string(status.get(), "state"), "rejected");
  EXPECT_EQ(json_string(status.get(), "id"), id);
  EXPECT_EQ(json_string(status.get(), "device"), dev());
  const cJSON* error = cJSON_GetObjectItemCaseSensitive(status.get(), "error");
  EXPECT_EQ(json_string(error, "code"), code) << "status: " << json_string(status.get(), "state");
}

}  // namespace edgerun::test
