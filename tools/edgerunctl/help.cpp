#include "help.hpp"

namespace edgerun::ctl {
namespace {

constexpr std::string_view kGeneral = R"(Usage: edgerunctl [options] <command> [arguments]

Talks to edgerun runtimes over MQTT, and checks the journals they keep.

Commands:
  submit   submit a job to a device or a group and wait for its result
  cancel   ask a device to cancel a job
  watch    print job status, logs, metrics, events and presence as they come
  status   list the devices that announced their presence
  journal  verify or print the journal in an edgerund state directory

Options (before or after the command):
  --url URL          broker, mqtt://host:port or mqtts://host:port
                     (default: $EDGERUN_MQTT_URL, else mqtt://127.0.0.1:1883)
  --username USER    broker user name (default: $EDGERUN_MQTT_USERNAME)
  --password PASS    broker password (default: $EDGERUN_MQTT_PASSWORD)
  --prefix PREFIX    topic prefix (default: edgerun)
  --cafile FILE      CA certificate for an mqtts:// broker
                     (default: the system's CAs in /etc/ssl/certs)
  --timeout SECONDS  how long to wait at most; for watch, how long to run
  --json             print the raw JSON payloads, one per line
  -h, --help         this help; `edgerunctl <command> --help` for a command

Exit status:
  0 success   1 job failed, timed out or canceled (status: no device)
  2 job rejected   3 usage error   4 connection error
  5 timed out waiting   6 journal damaged   130 interrupted
)";

constexpr std::string_view kSubmit = R"(Usage: edgerunctl submit [options] <device> <type> [params...]
       edgerunctl submit [options] --group <group> <type> [params...]

Publishes a job to <prefix>/<device>/jobs/submit (or, with --group, to
<prefix>/groups/<group>/jobs/submit, where one member of the group takes it),
then prints its status messages until a terminal one arrives. A device that
already knows the id rejects the job as a duplicate (exit 2); when that job
has finished, the device sends its stored outcome, which is then printed and
exit-coded instead, with a note on stderr.

Params are either one JSON object or key=value pairs. A value that reads as
a JSON number, true, false or null keeps its type; any other is a string:
  edgerunctl submit gw-01 echo msg=hi count=3 loud=true
  edgerunctl submit gw-01 echo '{"msg": "hi", "tags": ["a", "b"]}'

Options:
  --id ID              job id (default: generated); [A-Za-z0-9._-]{1,64}
  --job-timeout-ms N   run-time limit the runtime enforces (timeout_ms)
  --expires-in-ms N    fail the job (expired) unless it starts within N ms
                       (expires_at: now + N, by this machine's clock)
  --group GROUP        submit to a fleet group instead of one device
  --no-wait            only publish; print the job id and exit
  --timeout SECONDS    how long to wait for the result (default: 30)

Exit status: 0 succeeded, 1 failed/timed_out/canceled, 2 rejected,
3 usage error, 4 connection error, 5 no terminal status within --timeout.
)";

constexpr std::string_view kCancel = R"(Usage: edgerunctl cancel [options] <device> <id>

Publishes {"id": <id>} to <prefix>/<device>/jobs/cancel and exits once the
broker has acknowledged it. Watch the job (`edgerunctl watch <device>`) to
see it end as canceled.
)";

constexpr std::string_view kWatch = R"(Usage: edgerunctl watch [options] [<device> | +]

Subscribes to a device's (default: every device's) job status, rejections,
telemetry and presence, and prints each message as it arrives:
  gw-01 job-42 succeeded {"msg":"hi"}
  gw-01 log 2026-01-02T03:04:05.678Z info started {"port":8080}
  gw-01 metric edgerun_jobs_total{state="succeeded"}=3
  gw-01 event door_open {"door":2}
  gw-01 presence online version=0.1.0

Runs until SIGINT/SIGTERM, --timeout SECONDS, or --count messages.

Options:
  --count N   exit after N messages (exit 5 if --timeout ends it first)
  --json      print the raw payloads instead
)";

constexpr std::string_view kStatus = R"(Usage: edgerunctl status [options] [<device>]

Reads the retained presence messages (<prefix>/<device>/status) and prints
each device's state, version, start time and system information. Stops
half a second after the last message arrives, or at --timeout.
Exit status 0 when at least one device was found, 1 when none was.
)";

constexpr std::string_view kJournal = R"(Usage: edgerunctl journal verify <state_dir> [--head SEQ:HEX]
       edgerunctl journal show <state_dir> [--json] [--job ID]

Reads the journal edgerund keeps in its state directory (<state_dir>/journal)
and checks every record against the SHA-256 hash chain, which links each
record to all before it. Needs no broker, only read access to the file, and
never changes it.

verify prints one line: the number of records, their sequence numbers and
the chain head, SEQ:HEX. Saved, the head lets a later verify --head check
that the journal still holds that record with that hash: a history that was
rewritten or cut since does not.

show prints one line per record: sequence, time (UTC), kind, job id and a
detail (the job type, the end state, the record a checkpoint follows).

Options:
  --head SEQ:HEX   verify: fail unless the record with sequence SEQ has the
                   hash HEX (a record compacted away can be checked only
                   when the file's first checkpoint follows it directly)
  --json           show: one JSON object per record (JSON Lines), with the
                   submission or status parsed
  --job ID         show: only the records of job ID

A torn last record (a crash during an append; edgerund cuts it off at start)
is noted, not an error.

Exit status: 0 intact, 3 usage error, 6 damaged, missing or unreadable, or
the saved head is not in it.
)";

constexpr std::string_view kHelp = R"(Usage: edgerunctl help [<command>]
)";

}  // namespace

std::string_view general_help() { return kGeneral; }

std::optional<std::string_view> command_help(std::string_view command) {
  if (command == "submit") return kSubmit;
  if (command == "cancel") return kCancel;
  if (command == "watch") return kWatch;
  if (command == "status") return kStatus;
  if (command == "journal") return kJournal;
  if (command == "help") return kHelp;
  return std::nullopt;
}

}  // namespace edgerun::ctl
