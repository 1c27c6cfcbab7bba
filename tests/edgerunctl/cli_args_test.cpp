// Unit tests of edgerunctl's command line: no broker, no process.

#include <gtest/gtest.h>

#include <cctype>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "cli_args.hpp"

namespace edgerun::ctl {
namespace {

using namespace std::chrono_literals;

struct FakeEnv {
  std::map<std::string, std::string> vars;
  EnvLookup lookup() const {
    return [this](const char* name) -> const char* {
      auto it = vars.find(name);
      return it == vars.end() ? nullptr : it->second.c_str();
    };
  }
};

ParseOutcome parse(const std::vector<std::string>& args, const FakeEnv& env = {}) {
  return parse_command_line(args, env.lookup());
}

template <typename T>
const T& command_of(const ParseOutcome& outcome) {
  EXPECT_TRUE(outcome.invocation.has_value()) << outcome.error;
  return std::get<T>(outcome.invocation->command);
}

TEST(CtlArgs, Defaults) {
  ParseOutcome out = parse({"status"});
  ASSERT_TRUE(out.invocation) << out.error;
  const GlobalOptions& g = out.invocation->global;
  EXPECT_EQ(g.url.host, "127.0.0.1");
  EXPECT_EQ(g.url.port, 1883);
  EXPECT_FALSE(g.url.tls);
  EXPECT_EQ(g.prefix, "edgerun");
  EXPECT_FALSE(g.timeout.has_value());
  EXPECT_FALSE(g.json);
  EXPECT_EQ(command_of<StatusCommand>(out).device, "+");
}

TEST(CtlArgs, SubmitWithKeyValueParams) {
  ParseOutcome out = parse({"submit", "gw-01", "echo", "msg=hi", "n=5", "--id", "job-42", "--job-timeout-ms=5000"});
  const auto& cmd = command_of<SubmitCommand>(out);
  EXPECT_EQ(cmd.device, "gw-01");
  EXPECT_EQ(cmd.type, "echo");
  EXPECT_EQ(cmd.params_json, R"({"msg":"hi","n":5})");
  EXPECT_EQ(cmd.id, "job-42");
  ASSERT_TRUE(cmd.job_timeout_ms.has_value());
  EXPECT_EQ(*cmd.job_timeout_ms, 5000);
  EXPECT_FALSE(cmd.expires_in_ms.has_value());
  EXPECT_FALSE(cmd.no_wait);
}

TEST(CtlArgs, SubmitTakesAnExpiry) {
  ParseOutcome out = parse({"submit", "gw-01", "echo", "--expires-in-ms", "60000"});
  const auto& cmd = command_of<SubmitCommand>(out);
  ASSERT_TRUE(cmd.expires_in_ms.has_value());
  EXPECT_EQ(*cmd.expires_in_ms, 60000);
}

TEST(CtlArgs, SubmitToGroupTakesNoDevice) {
  ParseOutcome out = parse({"submit", "--group", "cameras", "snapshot", "res=720"});
  const auto& cmd = command_of<SubmitCommand>(out);
  EXPECT_EQ(cmd.group, "cameras");
  EXPECT_TRUE(cmd.device.empty());
  EXPECT_EQ(cmd.type, "snapshot");
  EXPECT_EQ(cmd.params_json, R"({"res":720})");
}

TEST(CtlArgs, GlobalOptionsGoBeforeOrAfterTheCommand) {
  ParseOutcome before = parse({"--url", "mqtt://broker:1884", "--json", "--timeout", "2.5", "watch"});
  ParseOutcome after = parse({"watch", "--url=mqtt://broker:1884", "--json", "--timeout=2.5"});
  for (const ParseOutcome* out : {&before, &after}) {
    ASSERT_TRUE(out->invocation) << out->error;
    EXPECT_EQ(out->invocation->global.url.host, "broker");
    EXPECT_EQ(out->invocation->global.url.port, 1884);
    EXPECT_TRUE(out->invocation->global.json);
    EXPECT_EQ(out->invocation->global.timeout, 2500ms);
  }
}

TEST(CtlArgs, EnvironmentGivesDefaultsAndFlagsWin) {
  FakeEnv env{{{"EDGERUN_MQTT_URL", "mqtts://env-broker"},
               {"EDGERUN_MQTT_USERNAME", "env-user"},
               {"EDGERUN_MQTT_PASSWORD", "env-pass"}}};
  ParseOutcome from_env = parse({"status"}, env);
  ASSERT_TRUE(from_env.invocation) << from_env.error;
  EXPECT_EQ(from_env.invocation->global.url.host, "env-broker");
  EXPECT_EQ(from_env.invocation->global.url.port, 8883);
  EXPECT_TRUE(from_env.invocation->global.url.tls);
  EXPECT_EQ(from_env.invocation->global.username, "env-user");
  EXPECT_EQ(from_env.invocation->global.password, "env-pass");

  ParseOutcome flags = parse({"status", "--url", "mqtt://flag-broker:1", "--username", "u", "--password", "p"}, env);
  ASSERT_TRUE(flags.invocation) << flags.error;
  EXPECT_EQ(flags.invocation->global.url.host, "flag-broker");
  EXPECT_EQ(flags.invocation->global.username, "u");
  EXPECT_EQ(flags.invocation->global.password, "p");
}

TEST(CtlArgs, HelpForms) {
  EXPECT_TRUE(command_of<HelpCommand>(parse({"--help"})).command.empty());
  EXPECT_EQ(command_of<HelpCommand>(parse({"submit", "--help"})).command, "submit");
  EXPECT_EQ(command_of<HelpCommand>(parse({"help", "watch"})).command, "watch");
  EXPECT_EQ(command_of<HelpCommand>(parse({"-h", "cancel"})).command, "cancel");
}

TEST(CtlArgs, DoubleDashEndsOptions) {
  ParseOutcome out = parse({"submit", "gw-01", "echo", "--", "flag=--not-an-option"});
  EXPECT_EQ(command_of<SubmitCommand>(out).params_json, R"({"flag":"--not-an-option"})");
}

const std::string kHashHex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

TEST(CtlArgs, JournalVerify) {
  ParseOutcome out = parse({"journal", "verify", "/var/lib/edgerun"});
  const auto& cmd = command_of<JournalCommand>(out);
  EXPECT_EQ(cmd.action, JournalAction::verify);
  EXPECT_EQ(cmd.state_dir, "/var/lib/edgerun");
  EXPECT_FALSE(cmd.head.has_value());
  EXPECT_TRUE(cmd.job_id.empty());
}

TEST(CtlArgs, JournalVerifyTakesASavedHeadInEitherCase) {
  std::string upper = kHashHex;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const std::string& hex : {kHashHex, upper}) {
    ParseOutcome out = parse({"journal", "verify", "state", "--head", "1234:" + hex});
    const auto& cmd = command_of<JournalCommand>(out);
    ASSERT_TRUE(cmd.head.has_value());
    EXPECT_EQ(cmd.head->sequence, 1234u);
    EXPECT_EQ(cmd.head->hash_hex, kHashHex);
  }
}

TEST(CtlArgs, JournalShowWithJsonAndJob) {
  ParseOutcome out = parse({"--json", "journal", "show", "state", "--job=job-42"});
  const auto& cmd = command_of<JournalCommand>(out);
  EXPECT_EQ(cmd.action, JournalAction::show);
  EXPECT_EQ(cmd.state_dir, "state");
  EXPECT_EQ(cmd.job_id, "job-42");
  EXPECT_TRUE(out.invocation->global.json);
}

TEST(CtlArgs, JournalIgnoresTheBrokerEnvironment) {
  // It reads files: a broken broker URL in the environment must not stop it.
  FakeEnv env{{{"EDGERUN_MQTT_URL", "http://not-a-broker"}, {"EDGERUN_MQTT_PASSWORD", "p"}}};
  ParseOutcome out = parse({"journal", "show", "state"}, env);
  EXPECT_TRUE(out.invocation.has_value()) << out.error;
}

TEST(CtlArgs, JournalHelp) {
  EXPECT_EQ(command_of<HelpCommand>(parse({"journal", "--help"})).command, "journal");
  EXPECT_EQ(command_of<HelpCommand>(parse({"help", "journal"})).command, "journal");
}

struct BadLine {
  std::vector<std::string> args;
  std::string expected_error;  // a part of the message
};

void PrintTo(const BadLine& line, std::ostream* os) {
  *os << "edgerunctl";
  for (const auto& arg : line.args) *os << " '" << arg << "'";
}

class CtlArgsRejects : public ::testing::TestWithParam<BadLine> {};

TEST_P(CtlArgsRejects, WithAClearMessage) {
  ParseOutcome out = parse(GetParam().args);
  ASSERT_FALSE(out.invocation.has_value());
  EXPECT_NE(out.error.find(GetParam().expected_error), std::string::npos) << out.error;
}

INSTANTIATE_TEST_SUITE_P(
    BadUsage, CtlArgsRejects,
    ::testing::Values(BadLine{{}, "no command"},
                      BadLine{{"frobnicate"}, "unknown command"},
                      BadLine{{"submit"}, "needs a device id"},
                      BadLine{{"submit", "gw-01"}, "needs a job type"},
                      BadLine{{"submit", "gw/01", "echo"}, "bad device id"},
                      BadLine{{"submit", "gw-01", "echo", "--id", "job#1"}, "bad job id"},
                      BadLine{{"submit", "gw-01", "echo", "--id", std::string(65, 'a')}, "bad job id"},
                      BadLine{{"submit", "--group", "a+b", "echo"}, "bad group name"},
                      BadLine{{"submit", "gw-01", "echo", "novalue"}, "not key=value"},
                      BadLine{{"submit", "gw-01", "echo", "=1"}, "not key=value"},
                      BadLine{{"submit", "gw-01", "echo", "a=1", "a=2"}, "given twice"},
                      BadLine{{"submit", "gw-01", "echo", "{\"a\":"}, "not a valid JSON object"},
                      BadLine{{"submit", "gw-01", "echo", "{}", "a=1"}, "only parameter"},
                      BadLine{{"submit", "gw-01", "echo", "--job-timeout-ms", "0"}, "--job-timeout-ms"},
                      BadLine{{"submit", "gw-01", "echo", "--expires-in-ms", "soon"}, "--expires-in-ms"},
                      BadLine{{"submit", "gw-01", "echo", "--id"}, "needs a value"},
                      BadLine{{"cancel", "gw-01"}, "needs a device id and a job id"},
                      BadLine{{"cancel", "gw-01", "j1", "extra"}, "unexpected argument"},
                      BadLine{{"cancel", "gw-01", "bad/id"}, "bad job id"},
                      BadLine{{"watch", "gw#"}, "bad device id"},
                      BadLine{{"watch", "--count", "-1"}, "--count"},
                      BadLine{{"watch", "--json=yes"}, "takes no value"},
                      BadLine{{"status", "--group", "g"}, "unknown option"},
                      BadLine{{"status", "-x"}, "unknown option"},
                      BadLine{{"status", "--timeout", "0"}, "--timeout"},
                      BadLine{{"status", "--timeout", "1s"}, "--timeout"},
                      BadLine{{"status", "--url", "http://x"}, "bad broker URL 'http://x': expected mqtt://host:port"},
                      BadLine{{"status", "--url", "mqtt://x:99999"}, "a port from 1 to 65535"},
                      BadLine{{"status", "--url", "mqtt://:1883"}, "a host name or address"},
                      BadLine{{"status", "--prefix", "a/+/b"}, "bad topic prefix"},
                      BadLine{{"status", "--prefix", "a//b"}, "bad topic prefix"},
                      BadLine{{"status", "--password", "secret"}, "needs a username"},
                      BadLine{{"status", "--cafile", "ca.crt"}, "--cafile needs an mqtts://"},
                      BadLine{{"journal"}, "journal needs an action (verify or show)"},
                      BadLine{{"journal", "check", "state"}, "unknown journal action 'check'"},
                      BadLine{{"journal", "verify"}, "journal verify needs a state directory"},
                      BadLine{{"journal", "show", ""}, "must not be empty"},
                      BadLine{{"journal", "verify", "a", "b"}, "unexpected argument 'b'"},
                      BadLine{{"journal", "verify", "state", "--head", "12"}, "--head wants SEQ:HEX"},
                      BadLine{{"journal", "verify", "state", "--head", "0:" + kHashHex}, "--head wants SEQ:HEX"},
                      BadLine{{"journal", "verify", "state", "--head", "-1:" + kHashHex}, "--head wants SEQ:HEX"},
                      BadLine{{"journal", "verify", "state", "--head", "x:" + kHashHex}, "--head wants SEQ:HEX"},
                      BadLine{{"journal", "verify", "state", "--head", "5:" + kHashHex.substr(1)}, "--head wants"},
                      BadLine{{"journal", "verify", "state", "--head", "5:" + kHashHex + "0"}, "--head wants"},
                      BadLine{{"journal", "verify", "state", "--head", "5:" + kHashHex.substr(1) + "g"}, "--head wants"},
                      BadLine{{"journal", "show", "state", "--head", "5:" + kHashHex}, "--head goes with journal verify"},
                      BadLine{{"journal", "verify", "state", "--job", "j1"}, "--job goes with journal show"},
                      BadLine{{"journal", "show", "state", "--job", "j/1"}, "bad job id"},
                      BadLine{{"journal", "verify", "state", "--json"}, "--json goes with journal show"},
                      BadLine{{"status", "--head", "5:" + kHashHex}, "unknown option '--head' for 'status'"}));

}  // namespace
}  // namespace edgerun::ctl
