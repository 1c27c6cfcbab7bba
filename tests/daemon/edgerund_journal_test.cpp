// edgerund's crash-safe journal (<state_dir>/journal) seen by a submitter: a
// real broker, the real daemon SIGKILLed, stopped and restarted under load,
// the broker taken away, and a probe playing the submitter. What it must see:
// every job it heard of ends with one terminal status (the same one each time
// it is published), a job that is not idempotent never runs twice, a queued
// job survives a stop, and a finished id stays a duplicate across restarts.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "daemon_fixture.hpp"
#include "edgerun/journal_reader.hpp"
#include "edgerun/journal_record.hpp"
#include "edgerun/port/file.hpp"

// Set by tests/daemon/CMakeLists.txt; a build under ASan/UBSan or TSan runs
// the long test with fewer jobs, as a cross build (qemu-user) does.
#ifndef EDGERUN_SANITIZED
#define EDGERUN_SANITIZED 0
#endif

namespace edgerun::test {
namespace {

using Clock = std::chrono::steady_clock;
using EdgerundJournalTest = DaemonTest;

bool is_terminal(const std::string& state) {
  return state == "succeeded" || state == "failed" || state == "rejected" || state == "timed_out" ||
         state == "canceled";
}

std::string error_code(const cJSON* status) {
  return json_string(cJSON_GetObjectItemCaseSensitive(status, "error"), "code");
}

std::chrono::milliseconds left_until(Clock::time_point deadline) {
  return std::max(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()), 0ms);
}

std::string tail(const std::string& text, std::size_t bytes = 6000) {
  return text.size() <= bytes ? text : "..." + text.substr(text.size() - bytes);
}

// Connects `probe` to the broker and subscribes it to the job topics of
// `device` only (statuses and jobs/rejected): no telemetry to wade through.
Status connect_job_listener(MqttProbe& probe, const MosquittoBroker& broker, const std::string& device) {
  if (!probe.connected()) {
    if (Status s = probe.connect(broker); !s) return s;
  }
  if (Status s = probe.subscribe("edgerun/" + device + "/jobs/+/status", 1); !s) return s;
  return probe.subscribe("edgerun/" + device + "/jobs/rejected", 1);
}

// Reads what the daemon wrote to stderr so far, so that its pipe never fills
// and blocks the daemon's log writes while the test reads MQTT only.
void drain_stderr(Daemon& daemon) { (void)daemon.process().wait_for_stderr("\x01never\x01", 1ms); }

// SIGKILL, reap, and start again on the same config and state_dir. What the
// dead daemon wrote to stderr is appended to `history`.
void kill_and_restart(Daemon& daemon, std::string& history) {
  daemon.process().send_signal(SIGKILL);
  const ProcessResult dead = daemon.process().wait(15s);
  history += "---- daemon killed ----\n" + tail(dead.err, 4000);
  ASSERT_EQ(dead.term_signal, SIGKILL) << "the daemon was not killed by SIGKILL\n" << tail(dead.err);
  const Status started = daemon.start();
  ASSERT_TRUE(started) << started.message;
  ASSERT_TRUE(daemon.wait_connected(1, 20s)) << "the daemon did not come back\n" << daemon.process().err();
}

// What the submitter heard of one job id.
struct JobRecord {
  int submissions = 0;
  int order = -1;  // its place among the first submissions
  std::vector<std::string> states;  // from its status topic, in arrival order
  std::string terminal_state;       // the first terminal status
  std::string terminal_code;        // its error.code, if any
  std::string terminal_payload;
  int terminal_messages = 0;  // terminal statuses received (republished ones too)
  int duplicates = 0;         // duplicate rejections on jobs/rejected
  bool silent_at_marker = false; // silent after a kill: left out of the window
  bool heard() const { return !states.empty() || duplicates > 0; }
  bool ended() const { return !terminal_state.empty(); }
};

// Everything the submitter received about the jobs of one device, checked
// against the protocol's rules as it arrives; a breach becomes a problem.
class Ledger {
 public:
  explicit Ledger(const std::string& device)
      : device_(device), jobs_prefix_("edgerun/" + device + "/jobs/"), rejected_topic_(jobs_prefix_ + "rejected") {}

  // Records one message; returns the id it is about ("" when none).
  std::string take(const MqttMessage& message) {
    Json body = parse_json(message.payload);
    if (message.topic == rejected_topic_) {
      const std::string id = json_string(body.get(), "id");
      const std::string code = error_code(body.get());
      if (!body || id.empty()) {
        problem("a rejection without an id: " + message.payload);
      } else if (code != "duplicate") {
        problem(id + " was rejected " + code + ": " + message.payload);
      } else {
        if (json_string(body.get(), "state") != "rejected" || json_string(body.get(), "device") != device_) {
          problem(id + ": a malformed duplicate rejection: " + message.payload);
        }
        ++jobs_[id].duplicates;
      }
      return id;
    }
    const std::string suffix = "/status";
    if (!message.topic.starts_with(jobs_prefix_) || !message.topic.ends_with(suffix)) {
      problem("a message on " + message.topic + ": " + message.payload);
      return "";
    }
    const std::string id =
        message.topic.substr(jobs_prefix_.size(), message.topic.size() - jobs_prefix_.size() - suffix.size());
    const std::string state = json_string(body.get(), "state");
    if (!body || json_string(body.get(), "id") != id) problem(id + ": a status of another id: " + message.payload);
    JobRecord& job = jobs_[id];
    job.states.push_back(state);
    if (state == "rejected") problem(id + ": its status topic carries a rejection: " + message.payload);
    if (is_terminal(state)) {
      ++job.terminal_messages;
      if (!job.ended()) {
        job.terminal_state = state;
        job.terminal_code = error_code(body.get());
        job.terminal_payload = message.payload;
        if (!id.starts_with("mark-")) ++ended_;
      } else if (job.terminal_state != state) {
        problem(id + ": two different terminal states: " + job.terminal_payload + " then " + message.payload);
      } else if (job.terminal_payload != message.payload) {
        problem(id + ": its terminal status published again with other content: " + job.terminal_payload +
                " then " + message.payload);
      }
    } else if (job.ended()) {
      problem(id + ": " + state + " after its terminal status " + job.terminal_payload);
    }
    return id;
  }

  JobRecord& job(const std::string& id) { return jobs_[id]; }
  const std::map<std::string, JobRecord>& jobs() const { return jobs_; }
  int ended() const { return ended_; }  // ids other than markers with a terminal status
  const std::vector<std::string>& problems() const { return problems_; }
  std::string problems_text(std::size_t at_most = 40) const {
    std::string text;
    for (std::size_t i = 0; i < problems_.size() && i < at_most; ++i) text += "  " + problems_[i] + "\n";
    if (problems_.size() > at_most) text += "  ... " + std::to_string(problems_.size() - at_most) + " more\n";
    return text;
  }

 private:
  void problem(std::string text) { problems_.push_back(std::move(text)); }

  std::string device_;
  std::string jobs_prefix_;
  std::string rejected_topic_;
  std::map<std::string, JobRecord> jobs_;
  std::vector<std::string> problems_;
  int ended_ = 0;
};

// Takes every message of `topic` the probe holds now, without waiting.
std::vector<std::string> take_all(MqttProbe& probe, const std::string& topic) {
  std::vector<std::string> payloads;
  while (auto message = probe.wait_for_topic(topic, 0ms)) payloads.push_back(message->payload);
  return payloads;
}

std::vector<std::string> states_of(const std::vector<std::string>& payloads) {
  std::vector<std::string> states;
  for (const std::string& payload : payloads) states.push_back(json_string(parse_json(payload).get(), "state"));
  return states;
}

std::string joined(const std::vector<std::string>& items) {
  std::string text;
  for (const std::string& item : items) text += (text.empty() ? "" : ",") + item;
  return "[" + text + "]";
}

// A barrier for everything the daemon published so far: an echo job's
// terminal status comes after every status the daemon published before it
// (one connection, QoS 1, in order).
void barrier(MqttProbe& probe, Daemon& daemon, const std::string& id) {
  ASSERT_TRUE(submit(probe, daemon.device(), id, "echo"));
  ASSERT_TRUE(wait_state(probe, daemon.device(), id, "succeeded", 15s)) << daemon.process().err();
}

std::string job_id(int n) {
  char id[16];
  std::snprintf(id, sizeof id, "j-%04d", n);
  return id;
}

TEST_F(EdgerundJournalTest, SigkillFiveTimesDuringExecJobsLosesNoneAndRunsNoneTwice) {
  const int kJobs = (EDGERUN_CROSS_BUILD || EDGERUN_SANITIZED) ? 300 : 2000;
  constexpr std::size_t kWindow = 32;  // jobs without a terminal status at most
  constexpr int kKills = 5;

  char tmpl[] = "/tmp/edgerund-journal-ran-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string ran_dir = tmpl;
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  } cleanup{ran_dir};
  const std::string ran_path = ran_dir + "/ran.txt";
  const std::string script = "echo \"$EDGERUN_JOB_ID\" >> " + ran_path;

  const std::string device = "dev-kill";
  {
    const Status listening = connect_job_listener(probe_, broker_, device);
    ASSERT_TRUE(listening) << listening.message;
  }
  ASSERT_NO_FATAL_FAILURE(start_daemon(device, [&](cJSON& root) {
    cJSON_ReplaceItemInObjectCaseSensitive(&root, "workers", cJSON_CreateNumber(4));
    // The window keeps at most 32 jobs in flight, and jobs silent after a
    // kill leave it (see the markers): a bigger queue keeps those of them
    // that were not lost from ever meeting queue_full.
    set_int(root, "jobs", "queue_capacity", 128);
    add_exec_type(root, "append", "/bin/sh", {"-c", script.c_str()});  // not idempotent
    add_exec_type(root, "mark", "/bin/true");  // the markers, below
  }));

  const char* seed_text = std::getenv("EDGERUN_TEST_SEED");
  const unsigned seed = seed_text != nullptr ? static_cast<unsigned>(std::strtoul(seed_text, nullptr, 10))
                                             : std::random_device{}();
  RecordProperty("seed", static_cast<int>(seed));
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> offset(0, kJobs / 50);
  int thresholds[kKills];
  for (int k = 0; k < kKills; ++k) thresholds[k] = kJobs * 15 * (k + 1) / 100 + offset(rng);

  Ledger ledger(device);
  std::string history;  // stderr of the daemons killed so far
  std::set<std::string> outstanding;  // submitted, no terminal status, not silent at a marker
  std::vector<std::string> submitted_order;
  int silent_at_marker = 0;
  const auto diagnostics = [&] {
    std::string text = "submitted " + std::to_string(submitted_order.size()) + ", ended " +
                       std::to_string(ledger.ended()) + ", outstanding";
    int shown = 0;
    for (const std::string& id : outstanding) {
      if (shown++ == 20) break;
      text += " " + id + joined(ledger.job(id).states);
    }
    return text + "\nproblems:\n" + ledger.problems_text() + "\nseed " + std::to_string(seed) +
           "\nearlier daemons:\n" + tail(history, 8000) + "\ndaemon:\n" + tail(daemon_->process().err());
  };
  const auto record = [&](const MqttMessage& message) {
    const std::string id = ledger.take(message);
    if (ledger.job(id).ended()) outstanding.erase(id);
  };
  // A marker is a job submitted right after a restart. Once it is heard of,
  // the broker has handed the daemon every submission published before it:
  // a job still silent then was lost in the window between libmosquitto's
  // PUBACK and the journal, or its `queued` is merely late (the statuses of
  // different jobs may overtake each other). Either way it leaves the window
  // (the bigger queue has room for it if it was not lost), and it is
  // submitted again at the end if it is still silent then. The markers' type
  // is not idempotent, like `append`, so that their statuses wait for the
  // journal as those of `append` do (an echo's would overtake far more).
  std::string pending_marker;
  std::size_t before_marker = 0;  // the jobs submitted before it
  const auto marker_heard = [&] {
    for (auto it = outstanding.begin(); it != outstanding.end();) {
      JobRecord& job = ledger.job(*it);
      if (!job.heard() && job.order < static_cast<int>(before_marker)) {
        job.silent_at_marker = true;
        ++silent_at_marker;
        it = outstanding.erase(it);
      } else {
        ++it;
      }
    }
    pending_marker.clear();
  };
  const auto take_one = [&](std::chrono::milliseconds timeout) {
    auto message = probe_.wait_for_message([](const MqttMessage&) { return true; }, timeout);
    if (!message) return false;
    record(*message);
    if (!pending_marker.empty() && ledger.job(pending_marker).heard()) marker_heard();
    return true;
  };

  const auto started = Clock::now();
  int next = 0;
  int kills = 0;
  int taken = 0;
  while (next < kJobs || kills < kKills) {
    const bool kill_due = kills < kKills && pending_marker.empty() &&
                          (ledger.ended() >= thresholds[kills] || (next == kJobs && outstanding.empty()));
    if (kill_due) {
      ASSERT_NO_FATAL_FAILURE(kill_and_restart(*daemon_, history)) << diagnostics();
      ++kills;
      pending_marker = "mark-" + std::to_string(kills);
      before_marker = submitted_order.size();
      ASSERT_TRUE(submit(probe_, device, pending_marker, "mark"));
      continue;
    }
    if (next < kJobs && outstanding.size() < kWindow) {
      const std::string id = job_id(next++);
      ASSERT_TRUE(submit(probe_, device, id, "append")) << diagnostics();
      ++ledger.job(id).submissions;
      ledger.job(id).order = static_cast<int>(submitted_order.size());
      outstanding.insert(id);
      submitted_order.push_back(id);
      continue;
    }
    ASSERT_TRUE(take_one(30s)) << "nothing heard for 30 s\n" << diagnostics();
    if (++taken % 200 == 0) drain_stderr(*daemon_);
  }
  const auto submitted_at = Clock::now();

  // After the last submission and the last restart: a last marker, then
  // every id that heard nothing at all is submitted again (a submitter that
  // heard nothing may do so: a known id is a duplicate, never run twice).
  pending_marker = "mark-final";
  before_marker = submitted_order.size();
  ASSERT_TRUE(submit(probe_, device, pending_marker, "mark"));
  while (!pending_marker.empty()) ASSERT_TRUE(take_one(30s)) << "the last marker got no answer\n" << diagnostics();
  std::vector<std::string> resubmitted;
  for (const std::string& id : submitted_order) {
    if (!ledger.job(id).heard()) resubmitted.push_back(id);
  }
  for (const std::string& id : resubmitted) {
    ASSERT_TRUE(submit(probe_, device, id, "append")) << diagnostics();
    ++ledger.job(id).submissions;
  }
  const auto deadline = Clock::now() + 120s;
  while (ledger.ended() < kJobs && take_one(left_until(deadline))) {
    if (++taken % 200 == 0) drain_stderr(*daemon_);
  }
  // And what the daemon publishes up to a last echo job, so that a late
  // second terminal status does not go unseen.
  {
    const std::string id = "mark-end";
    ASSERT_TRUE(submit(probe_, device, id, "echo"));
    while (!ledger.job(id).ended() && take_one(15s)) {
    }
    EXPECT_TRUE(ledger.job(id).ended()) << diagnostics();
  }
  const auto finished = Clock::now();

  // Every id ended, once.
  std::vector<std::string> never_ended;
  int interrupted = 0;
  int republished = 0;
  int duplicate_answers = 0;
  std::map<std::string, int> by_state;
  for (const std::string& id : submitted_order) {
    const JobRecord& job = ledger.job(id);
    if (!job.ended()) {
      never_ended.push_back(id + joined(job.states) + (job.duplicates > 0 ? "+duplicate" : ""));
      continue;
    }
    ++by_state[job.terminal_state + (job.terminal_code.empty() ? "" : "/" + job.terminal_code)];
    if (job.terminal_state == "failed" && job.terminal_code == "interrupted") ++interrupted;
    if (job.terminal_messages > 1) ++republished;
    duplicate_answers += job.duplicates;
    // `append` cannot fail by itself: only the restart may end it otherwise.
    EXPECT_TRUE(job.terminal_state == "succeeded" ||
                (job.terminal_state == "failed" && job.terminal_code == "interrupted"))
        << id << " ended " << job.terminal_payload;
  }
  EXPECT_TRUE(never_ended.empty()) << never_ended.size() << " ids never got a terminal status, e.g. "
                                   << joined(std::vector<std::string>(
                                          never_ended.begin(),
                                          never_ended.begin() + std::min<std::size_t>(never_ended.size(), 20)))
                                   << "\n"
                                   << diagnostics();
  EXPECT_TRUE(ledger.problems().empty()) << ledger.problems().size() << " breaches of the protocol:\n"
                                         << ledger.problems_text() << "\nseed " << seed;

  // What ran: no id twice; every id that ran ended succeeded, or failed
  // interrupted (killed while it ran); every succeeded id ran exactly once.
  std::map<std::string, int> runs;
  {
    std::ifstream ran(ran_path);
    for (std::string line; std::getline(ran, line);) ++runs[line];
  }
  std::vector<std::string> ran_twice, ran_but, succeeded_not_once;
  for (const auto& [id, count] : runs) {
    if (count > 1) ran_twice.push_back(id + " x" + std::to_string(count));
    const auto known = ledger.jobs().find(id);
    if (known == ledger.jobs().end() || id.starts_with("mark-")) {
      ran_but.push_back(id + " (never submitted)");
      continue;
    }
    const JobRecord& job = known->second;
    if (!(job.terminal_state == "succeeded" ||
          (job.terminal_state == "failed" && job.terminal_code == "interrupted"))) {
      ran_but.push_back(id + " ended " + (job.ended() ? job.terminal_payload : "nothing"));
    }
  }
  for (const std::string& id : submitted_order) {
    const JobRecord& job = ledger.job(id);
    if (job.terminal_state == "succeeded" && runs[id] != 1) {
      succeeded_not_once.push_back(id + " ran " + std::to_string(runs[id]) + " times");
    }
  }
  EXPECT_TRUE(ran_twice.empty()) << "jobs that ran twice: " << joined(ran_twice) << "\nseed " << seed << "\n"
                                 << tail(history, 8000);
  EXPECT_TRUE(ran_but.empty()) << "ran, yet did not end succeeded or failed/interrupted: " << joined(ran_but);
  EXPECT_TRUE(succeeded_not_once.empty()) << "succeeded, yet did not run once: " << joined(succeeded_not_once);

  const auto ms = [](auto d) {
    return static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
  };
  RecordProperty("jobs", kJobs);
  RecordProperty("interrupted", interrupted);
  RecordProperty("silent_at_a_marker", silent_at_marker);
  RecordProperty("resubmitted", static_cast<int>(resubmitted.size()));
  RecordProperty("duplicate_rejections", duplicate_answers);
  RecordProperty("terminal_republished", republished);
  RecordProperty("submit_phase_ms", ms(submitted_at - started));
  RecordProperty("total_ms", ms(finished - started));
  for (const std::string& id : resubmitted) {
    const JobRecord& job = ledger.job(id);
    std::fprintf(stderr, "[journal] resubmitted %s (first submitted #%d): heard %s, %d duplicate rejections, ran %d\n",
                 id.c_str(), job.order, joined(job.states).c_str(), job.duplicates, runs[id]);
  }
  std::string states;
  for (const auto& [state, count] : by_state) states += " " + state + "=" + std::to_string(count);
  std::fprintf(stderr,
               "[journal] %d jobs, %d kills (seed %u): ended%s; %d interrupted, %zu ran, %d silent at a marker, %zu "
               "resubmitted, %d duplicate rejections, %d ids with their terminal status republished; %d ms\n",
               kJobs, kills, seed, states.c_str(), interrupted, runs.size(), silent_at_marker, resubmitted.size(),
               duplicate_answers, republished, ms(finished - started));
}

TEST_F(EdgerundJournalTest, SigtermWithJobsQueuedRunsThemAfterTheRestart) {
  constexpr int kGraceMs = 5000;  // the fixture's shutdown.grace_ms
  ASSERT_NO_FATAL_FAILURE(start_daemon("dev-term", [](cJSON& root) {
    cJSON_ReplaceItemInObjectCaseSensitive(&root, "workers", cJSON_CreateNumber(1));
    set_int(root, "shutdown", "grace_ms", kGraceMs);
  }));
  const std::vector<std::string> ids = {"t-1", "t-2", "t-3", "t-4", "t-5"};
  // The one worker is still in t-1 when the SIGTERM comes, however slow the
  // build (TSan): the others are queued then, and stay so.
  for (const std::string& id : ids) {
    ASSERT_TRUE(submit(probe_, dev(), id, "sleep", id == "t-1" ? R"({"ms":2000})" : R"({"ms":300})"));
  }
  ASSERT_TRUE(wait_state(probe_, dev(), "t-1", "running")) << daemon_->process().err();
  for (std::size_t i = 1; i < ids.size(); ++i) {
    Json queued = next_status(probe_, dev(), ids[i]);
    ASSERT_TRUE(queued) << ids[i] << " was not queued\n" << daemon_->process().err();
    ASSERT_EQ(json_string(queued.get(), "state"), "queued") << ids[i];
  }

  daemon_->process().send_signal(SIGTERM);
  const auto signaled = Clock::now();
  const ProcessResult result = daemon_->process().wait(std::chrono::milliseconds(kGraceMs) + 10s);
  const auto exited_after = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - signaled);
  ASSERT_FALSE(result.timed_out) << result.err;
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_LT(exited_after.count(), kGraceMs) << "the daemon did not exit within its grace\n" << result.err;

  // Its last words end with the offline presence: every status it published
  // before has reached the probe by then.
  ASSERT_TRUE(probe_.wait_for_message(
      [&](const MqttMessage& m) {
        return m.topic == daemon_->topic("status") && m.payload.find(R"("state":"offline")") != std::string::npos;
      },
      10s))
      << result.err;
  std::map<std::string, std::vector<std::string>> before;  // payloads heard before the exit
  for (const std::string& id : ids) before[id] = take_all(probe_, daemon_->topic("jobs/" + id + "/status"));
  for (std::size_t i = 1; i < ids.size(); ++i) {
    // Queued: neither run nor canceled by the stop.
    EXPECT_TRUE(before[ids[i]].empty())
        << ids[i] << " heard " << joined(states_of(before[ids[i]])) << " before the exit\n" << result.err;
  }

  const Status restarted = daemon_->start();
  ASSERT_TRUE(restarted) << restarted.message;
  ASSERT_TRUE(daemon_->wait_connected()) << daemon_->process().err();
  std::map<std::string, std::string> terminal;
  for (const std::string& payload : before["t-1"]) {
    const std::string state = json_string(parse_json(payload).get(), "state");
    if (is_terminal(state)) terminal["t-1"] = payload;
  }
  for (const std::string& id : ids) {
    if (terminal.count(id) != 0) continue;
    Json done = wait_state(probe_, dev(), id, "succeeded", 15s);
    ASSERT_TRUE(done) << id << " did not succeed after the restart\n" << daemon_->process().err();
  }
  // Nothing more: no second, different end for any of them.
  ASSERT_NO_FATAL_FAILURE(barrier(probe_, *daemon_, "t-barrier"));
  for (const std::string& id : ids) {
    for (const std::string& payload : take_all(probe_, daemon_->topic("jobs/" + id + "/status"))) {
      const std::string state = json_string(parse_json(payload).get(), "state");
      EXPECT_TRUE(!is_terminal(state) || state == "succeeded") << id << ": " << payload;
    }
  }
  const std::string first_run = terminal.count("t-1") != 0 ? "finished within the grace" : "ran again";
  RecordProperty("first_job", first_run);
  std::fprintf(stderr, "[journal] SIGTERM after %d ms; the first job %s\n", static_cast<int>(exited_after.count()),
               first_run.c_str());
}

TEST_F(EdgerundJournalTest, BrokerAwayThenSigkillStillDeliversEveryStatus) {
  constexpr int kJobs = 100;
  const std::string device = "dev-away";
  ASSERT_NO_FATAL_FAILURE(start_daemon(device, [](cJSON& root) { set_int(root, "jobs", "queue_capacity", 128); }));
  // A submitter with a persistent session: the broker keeps, across its own
  // clean restart, what it took from the daemon and had not handed on yet.
  MqttProbe::Options options;
  options.client_id = "journal-submitter-away";
  options.clean_start = false;
  options.session_expiry_s = 300;
  MqttProbe submitter(options);
  {
    const Status listening = connect_job_listener(submitter, broker_, device);
    ASSERT_TRUE(listening) << listening.message;
  }

  Ledger ledger(device);
  std::vector<std::string> ids;
  for (int i = 0; i < kJobs; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "a-%03d", i);
    ids.emplace_back(id);
    ASSERT_TRUE(submit(submitter, device, id, "sleep", R"({"ms":20})"));
  }
  const auto take_one = [&](std::chrono::milliseconds timeout) {
    auto message = submitter.wait_for_message([](const MqttMessage&) { return true; }, timeout);
    if (message) ledger.take(*message);
    return message.has_value();
  };
  // Every job accepted, a few ended: most end while the broker is away.
  const auto all_queued = [&] {
    for (const std::string& id : ids) {
      if (!ledger.job(id).heard()) return false;
    }
    return true;
  };
  while (!(all_queued() && ledger.ended() >= 10)) {
    ASSERT_TRUE(take_one(15s)) << "ended " << ledger.ended() << "\n" << daemon_->process().err();
  }
  const int ended_before = ledger.ended();
  {
    const Status stopped = broker_.stop();
    ASSERT_TRUE(stopped) << stopped.message;
  }

  // The journal records each end before the status goes out; with the broker
  // away, it is the only place to see them.
  const std::string journal_path =
      std::filesystem::path(daemon_->config_path()).parent_path().string() + "/state/" +
      std::string(journal::kJournalFileName);
  std::set<std::string> ended_in_journal;
  journal::ScanResult scan;
  const auto deadline = Clock::now() + 30s;
  for (;;) {
    ended_in_journal.clear();
    scan = journal::scan_journal(port::system_file_system(), journal_path.c_str(),
                                 [&](const journal::RecordView& record) {
                                   if (record.kind == journal::RecordKind::ended) {
                                     ended_in_journal.emplace(record.id);
                                   }
                                   return true;
                                 });
    if (ended_in_journal.size() >= static_cast<std::size_t>(kJobs) || Clock::now() >= deadline) break;
    // The pause between two reads of the file waits on the daemon's stderr,
    // which it also keeps from filling up.
    drain_stderr(*daemon_);
    (void)daemon_->process().wait_for_stderr("\x01never\x01", 20ms);
  }
  ASSERT_EQ(ended_in_journal.size(), static_cast<std::size_t>(kJobs))
      << "journal " << journal_path << ": " << journal::to_string(scan.outcome) << ", " << scan.records
      << " records\n"
      << daemon_->process().err();

  daemon_->process().send_signal(SIGKILL);
  const ProcessResult dead = daemon_->process().wait(15s);
  ASSERT_EQ(dead.term_signal, SIGKILL) << dead.err;
  {
    const Status started = broker_.start();
    ASSERT_TRUE(started) << started.message;
  }
  ASSERT_TRUE(submitter.wait_connected(10s));
  {
    const Status started = daemon_->start();
    ASSERT_TRUE(started) << started.message;
  }
  ASSERT_TRUE(daemon_->wait_connected(1, 15s)) << daemon_->process().err();

  const auto all_ended = [&] {
    for (const std::string& id : ids) {
      if (!ledger.job(id).ended()) return false;
    }
    return true;
  };
  const auto delivery_deadline = Clock::now() + 30s;
  while (!all_ended() && take_one(left_until(delivery_deadline))) {
  }
  std::vector<std::string> missing;
  for (const std::string& id : ids) {
    const JobRecord& job = ledger.job(id);
    if (!job.ended()) missing.push_back(id + joined(job.states));
    EXPECT_TRUE(!job.ended() || job.terminal_state == "succeeded") << id << ": " << job.terminal_payload;
  }
  EXPECT_TRUE(missing.empty()) << missing.size() << " jobs without a terminal status: " << joined(missing) << "\n"
                               << "before the kill:\n"
                               << tail(dead.err) << "\nafter the restart:\n"
                               << daemon_->process().err();
  EXPECT_TRUE(ledger.problems().empty()) << ledger.problems_text();
  RecordProperty("ended_before_the_broker_stopped", ended_before);
  std::fprintf(stderr, "[journal] %d of %d statuses heard before the broker stopped\n", ended_before, kJobs);
}

TEST_F(EdgerundJournalTest, FinishedIdsResubmittedAfterARestartAreDuplicates) {
  ASSERT_NO_FATAL_FAILURE(start_daemon("dev-dup"));
  const std::vector<std::string> ids = {"fin-1", "fin-2", "fin-3"};
  std::map<std::string, std::string> first;  // the terminal status, as published
  for (std::size_t i = 0; i < ids.size(); ++i) {
    ASSERT_TRUE(submit(probe_, dev(), ids[i], "echo", R"({"n":)" + std::to_string(i) + "}"));
  }
  for (const std::string& id : ids) {
    const std::string topic = daemon_->topic("jobs/" + id + "/status");
    std::vector<std::string> states;
    while (first.count(id) == 0) {
      auto message = probe_.wait_for_topic(topic, 10s);
      ASSERT_TRUE(message) << id << " heard " << joined(states) << "\n" << daemon_->process().err();
      const std::string state = json_string(parse_json(message->payload).get(), "state");
      states.push_back(state);
      if (is_terminal(state)) {
        ASSERT_EQ(state, "succeeded") << message->payload;
        first[id] = message->payload;
      }
    }
  }

  daemon_->process().send_signal(SIGTERM);
  const ProcessResult stopped = daemon_->process().wait(15s);
  ASSERT_FALSE(stopped.timed_out) << stopped.err;
  ASSERT_EQ(stopped.exit_code, 0) << stopped.err;
  const Status started = daemon_->start();
  ASSERT_TRUE(started) << started.message;
  ASSERT_TRUE(daemon_->wait_connected()) << daemon_->process().err();
  // Whatever the restart published by itself about these ids (a status the
  // broker had not acknowledged) must be the stored one; then the slate is
  // clean for the resubmissions.
  ASSERT_NO_FATAL_FAILURE(barrier(probe_, *daemon_, "fin-barrier-1"));
  for (const std::string& id : ids) {
    for (const std::string& payload : take_all(probe_, daemon_->topic("jobs/" + id + "/status"))) {
      EXPECT_EQ(payload, first[id]) << id << " got another status at the restart";
    }
  }

  for (const std::string& id : ids) ASSERT_TRUE(submit(probe_, dev(), id, "echo", R"({"n":99})"));
  for (const std::string& id : ids) {
    const std::string needle = R"("id":")" + id + R"(")";
    auto rejected = probe_.wait_for_message(
        [&](const MqttMessage& m) {
          return m.topic == daemon_->topic("jobs/rejected") && m.payload.find(needle) != std::string::npos;
        },
        10s);
    ASSERT_TRUE(rejected) << id << " got no rejection\n" << daemon_->process().err();
    Json body = parse_json(rejected->payload);
    ASSERT_TRUE(body) << rejected->payload;
    EXPECT_EQ(json_number(body.get(), "v"), 1) << rejected->payload;
    EXPECT_EQ(json_string(body.get(), "id"), id) << rejected->payload;
    EXPECT_EQ(json_string(body.get(), "device"), dev()) << rejected->payload;
    EXPECT_TRUE(json_number(body.get(), "ts").has_value()) << rejected->payload;
    EXPECT_EQ(json_string(body.get(), "state"), "rejected") << rejected->payload;
    EXPECT_EQ(error_code(body.get()), "duplicate") << rejected->payload;

    auto again = probe_.wait_for_topic(daemon_->topic("jobs/" + id + "/status"), 10s);
    ASSERT_TRUE(again) << id << ": its stored status was not published again\n" << daemon_->process().err();
    EXPECT_EQ(again->payload, first[id]) << id;
  }
  // Nothing ran: up to a later job's end, no other status of these ids.
  ASSERT_NO_FATAL_FAILURE(barrier(probe_, *daemon_, "fin-barrier-2"));
  for (const std::string& id : ids) {
    const std::vector<std::string> more = take_all(probe_, daemon_->topic("jobs/" + id + "/status"));
    EXPECT_TRUE(more.empty()) << id << " heard " << joined(states_of(more)) << " after its resubmission";
  }
  EXPECT_FALSE(probe_.wait_for_message(
      [&](const MqttMessage& m) { return m.topic == daemon_->topic("jobs/rejected"); }, 0ms))
      << "more rejections than resubmissions";
}

}  // namespace
}  // namespace edgerun::test
