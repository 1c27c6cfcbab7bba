// edgerun_e2e_ceiling: the smallest possible "device" for edgerun_e2e_bench.
//
// It subscribes to <p>/<dev>/jobs/submit and answers every submission with
// one QoS 1 status {"v":1,"id","device","state":"succeeded","ts","type",
// "result":<params>} on <p>/<dev>/jobs/<id>/status: no queue, no workers, no
// journal. With --progress it first publishes "queued" and then "running"
// (the same object without "result"), then "succeeded": the three statuses,
// in that order, that edgerund publishes with jobs.report_progress true. The
// objects have edgerund's fields in edgerund's order ("type" only when the
// submission has a string "type"; any type is answered). What the bench
// measures against it is the ceiling the broker and the two MQTT clients
// allow; a real runtime can only be slower. A submission whose id cannot be
// read is answered on <p>/<dev>/jobs/rejected, as PROTOCOL.md says, so that a
// bench never waits for a status that cannot come.
//
// Once the broker has acknowledged the subscription it publishes a retained
// presence {"state":"online"} on <p>/<dev>/status (and "offline" as its will
// and on a clean stop), the same signal edgerund gives, so the bench's
// --wait-online works against both.
//
// Threading: one thread; drive_once() (poll, mosquitto_loop_read/_write/_misc)
// calls the callbacks on it.
// Runs until SIGINT or SIGTERM; exits 2 if the broker connection is lost.

#include "e2e_common.hpp"

#include <cjson/cJSON.h>
#include <mosquitto.h>

#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <unistd.h>

namespace {

using namespace edgerun;
using namespace edgerun::bench::e2e;

volatile std::sig_atomic_t g_stop = 0;
extern "C" void on_signal(int) { g_stop = 1; }

struct Ceiling {
  std::string device;
  std::string prefix, submit_topic, presence_topic, rejected_topic;
  bool progress = false;  // --progress: queued and running before succeeded
  mosquitto* mosq = nullptr;
  bool connected_once = false;
  bool fatal = false;
  std::uint64_t answered = 0, rejected = 0;

  std::string presence(const char* state) const {
    char buf[200];
    std::snprintf(buf, sizeof buf, R"({"v":1,"device":"%s","state":"%s","ts":%)" PRId64 "}", device.c_str(), state,
                  unix_ms());
    return buf;
  }

  void publish(const std::string& topic, const char* payload, bool retain) {
    const int rc = mosquitto_publish_v5(mosq, nullptr, topic.c_str(), static_cast<int>(std::strlen(payload)), payload, 1,
                                        retain, nullptr);
    if (rc != MOSQ_ERR_SUCCESS) {
      std::fprintf(stderr, "edgerun_e2e_ceiling: publish %s: %s\n", topic.c_str(), mosquitto_strerror(rc));
    }
  }

  void on_connect(int rc) {
    if (rc != 0) {
      std::fprintf(stderr, "edgerun_e2e_ceiling: connect refused: %s\n", mosquitto_reason_string(rc));
      fatal = true;
      return;
    }
    connected_once = true;
    mosquitto_subscribe_v5(mosq, nullptr, submit_topic.c_str(), 1, 0, nullptr);
  }

  void on_subscribe(int qos_count, const int* granted) {
    if (qos_count < 1 || granted[0] >= 0x80) {
      std::fprintf(stderr, "edgerun_e2e_ceiling: the broker refused the subscription to %s\n", submit_topic.c_str());
      fatal = true;
      return;
    }
    // Subscribed: from now on no submission is lost, so say "online".
    publish(presence_topic, presence("online").c_str(), true);
  }

  void on_message(const mosquitto_message* msg) {
    cJSON* root = cJSON_ParseWithLength(static_cast<const char*>(msg->payload), static_cast<std::size_t>(msg->payloadlen));
    const cJSON* id = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "id") : nullptr;
    if (!cJSON_IsString(id) || !is_valid_id(id->valuestring)) {
      char buf[256];
      std::snprintf(buf, sizeof buf,
                    R"({"v":1,"device":"%s","ts":%)" PRId64
                    R"(,"error":{"code":"%s","message":"no readable id"}})",
                    device.c_str(), unix_ms(), root == nullptr ? "bad_json" : "bad_request");
      publish(rejected_topic, buf, false);
      ++rejected;
      cJSON_Delete(root);
      return;
    }
    const std::string topic = job_status_topic(prefix, device, id->valuestring);
    const cJSON* type = cJSON_GetObjectItemCaseSensitive(root, "type");
    // One object for all of the job's statuses: "state" and "ts" are
    // replaced in place (keeping their position) and "result" is added last.
    cJSON* status = cJSON_CreateObject();
    cJSON_AddNumberToObject(status, "v", 1);
    cJSON_AddStringToObject(status, "id", id->valuestring);
    cJSON_AddStringToObject(status, "device", device.c_str());
    cJSON_AddStringToObject(status, "state", progress ? "queued" : "succeeded");
    cJSON_AddNumberToObject(status, "ts", static_cast<double>(unix_ms()));
    if (cJSON_IsString(type)) cJSON_AddStringToObject(status, "type", type->valuestring);
    bool ok = true;
    if (progress) {
      ok = publish_status(topic, status);
      set_state(status, "running");
      ok = ok && publish_status(topic, status);
      set_state(status, "succeeded");
    }
    cJSON* params = cJSON_DetachItemFromObjectCaseSensitive(root, "params");
    if (!cJSON_IsObject(params)) {
      cJSON_Delete(params);
      params = cJSON_CreateObject();
    }
    cJSON_AddItemToObject(status, "result", params);
    ok = ok && publish_status(topic, status);
    if (ok) ++answered;
    cJSON_Delete(status);
    cJSON_Delete(root);
  }

  // Prints and publishes one status; false if it could not be printed.
  bool publish_status(const std::string& topic, const cJSON* status) {
    char* text = cJSON_PrintUnformatted(status);
    if (text == nullptr) return false;
    publish(topic, text, false);
    cJSON_free(text);
    return true;
  }

  static void set_state(cJSON* status, const char* state) {
    cJSON_ReplaceItemInObjectCaseSensitive(status, "state", cJSON_CreateString(state));
    cJSON_ReplaceItemInObjectCaseSensitive(status, "ts", cJSON_CreateNumber(static_cast<double>(unix_ms())));
  }
};

extern "C" void connect_cb(mosquitto*, void* obj, int rc, int, const mosquitto_property*) {
  static_cast<Ceiling*>(obj)->on_connect(rc);
}
extern "C" void subscribe_cb(mosquitto*, void* obj, int, int qos_count, const int* granted, const mosquitto_property*) {
  static_cast<Ceiling*>(obj)->on_subscribe(qos_count, granted);
}
extern "C" void message_cb(mosquitto*, void* obj, const mosquitto_message* msg, const mosquitto_property*) {
  static_cast<Ceiling*>(obj)->on_message(msg);
}

void usage(std::FILE* out) {
  std::fputs(
      "usage: edgerun_e2e_ceiling --url mqtt://HOST:PORT --device DEV [--prefix P] [--progress]\n"
      "  Answers every job on <P>/<DEV>/jobs/submit with \"succeeded\" at once;\n"
      "  with --progress with \"queued\", \"running\" and \"succeeded\", as edgerund\n"
      "  does with jobs.report_progress true.\n"
      "  Runs until SIGINT or SIGTERM.\n",
      out);
}

}  // namespace

int main(int argc, char** argv) {
  std::string url, prefix = "edgerun", device;
  bool progress = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    }
    if (a == "--progress") {
      progress = true;
    } else if ((a == "--url" || a == "--prefix" || a == "--device") && i + 1 < argc) {
      (a == "--url" ? url : a == "--prefix" ? prefix : device) = argv[++i];
    } else {
      std::fprintf(stderr, "edgerun_e2e_ceiling: bad argument '%s'\n", argv[i]);
      usage(stderr);
      return 64;
    }
  }
  MqttUrl broker;
  if (parse_mqtt_url(url, broker) != nullptr || broker.tls || !is_valid_id(device) || !is_valid_topic_prefix(prefix)) {
    std::fputs("edgerun_e2e_ceiling: need --url mqtt://host[:port] and --device ID (and a prefix without wildcards)\n",
               stderr);
    return 64;
  }

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  MosquittoLib lib;
  Ceiling c;
  c.device = device;
  c.prefix = prefix;
  c.progress = progress;
  c.submit_topic = submit_topic(prefix, device);
  c.presence_topic = presence_topic(prefix, device);
  c.rejected_topic = rejected_topic(prefix, device);

  const std::string client_id = "e2e-ceiling-" + device + "-" + std::to_string(getpid());
  c.mosq = mosquitto_new(client_id.c_str(), true, &c);
  if (c.mosq == nullptr) {
    std::perror("edgerun_e2e_ceiling: mosquitto_new");
    return 2;
  }
  mosquitto_connect_v5_callback_set(c.mosq, connect_cb);
  mosquitto_subscribe_v5_callback_set(c.mosq, subscribe_cb);
  mosquitto_message_v5_callback_set(c.mosq, message_cb);

  const std::string offline = c.presence("offline");
  int rc = set_client_options(c.mosq) ? MOSQ_ERR_SUCCESS : MOSQ_ERR_INVAL;
  if (rc == MOSQ_ERR_SUCCESS) {
    rc = mosquitto_will_set_v5(c.mosq, c.presence_topic.c_str(), static_cast<int>(offline.size()), offline.data(), 1, true,
                               nullptr);
  }
  if (rc == MOSQ_ERR_SUCCESS) rc = mosquitto_connect_bind_v5(c.mosq, broker.host.c_str(), broker.port, 30, nullptr, nullptr);
  if (rc != MOSQ_ERR_SUCCESS) {
    std::fprintf(stderr, "edgerun_e2e_ceiling: connect %s: %s\n", url.c_str(),
                 rc == MOSQ_ERR_ERRNO ? std::strerror(errno) : mosquitto_strerror(rc));
    mosquitto_destroy(c.mosq);
    return 2;
  }

  int status = 0;
  while (g_stop == 0 && !c.fatal) {
    rc = drive_once(c.mosq, 100);
    if (rc != MOSQ_ERR_SUCCESS && g_stop == 0) {
      std::fprintf(stderr, "edgerun_e2e_ceiling: connection lost: %s\n",
                   rc == MOSQ_ERR_ERRNO ? std::strerror(errno) : mosquitto_strerror(rc));
      status = 2;
      break;
    }
  }
  if (c.fatal) status = 2;

  if (status == 0) {
    // A clean stop: replace the retained "online" and flush it before the
    // DISCONNECT (a clean disconnect suppresses the will). Bounded: 1 s.
    c.publish(c.presence_topic, c.presence("offline").c_str(), true);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (mosquitto_want_write(c.mosq) && std::chrono::steady_clock::now() < until) {
      if (drive_once(c.mosq, 50) != MOSQ_ERR_SUCCESS) break;
    }
  }
  mosquitto_disconnect_v5(c.mosq, 0, nullptr);
  mosquitto_destroy(c.mosq);
  std::fprintf(stderr, "edgerun_e2e_ceiling: answered %" PRIu64 ", rejected %" PRIu64 "\n", c.answered, c.rejected);
  return status;
}
