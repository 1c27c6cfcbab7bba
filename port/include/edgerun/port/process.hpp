#pragma once
// Process-wide protections of the platform layer.
//
// The daemon's environment may hold EDGERUN_MQTT_PASSWORD, and its memory
// holds the password and the MQTT session. By default any process of the
// same user, an exec job's program among them, can read both through
// /proc/<pid>/environ and /proc/<pid>/mem, or attach a debugger.

namespace edgerun::port {

// Marks the calling process as not dumpable (prctl PR_SET_DUMPABLE 0). The
// kernel then makes its /proc/<pid>/ files owned by root and refuses
// ptrace, and so reading /proc/<pid>/environ and /proc/<pid>/mem, to other
// processes of the same user that lack CAP_SYS_PTRACE. It also means no core
// dump, unless the system sets fs.suid_dumpable to 2 (a root-owned dump, as
// systemd-coredump takes): a core would hold the same secrets.
//
// The flag belongs to the whole process and lasts until its credentials
// change or it calls execve(2), which resets it: programs the process spawns
// start dumpable, as they should. Call it once at start-up, before reading
// secrets, and again after any change of uid or gid.
//
// Any thread may call it. Returns 0, or the errno of the failure: it cannot
// fail on Linux for this argument, except with EPERM or another error that a
// seccomp filter of the service manager chose to return.
int make_process_undumpable() noexcept;

}  // namespace edgerun::port
