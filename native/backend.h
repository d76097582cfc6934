// The table of sd-daemon primitives. Two implementations fill it: libsystemd
// (linked, or loaded at run time with dlopen) and builtin (the same stable
// protocols written out). Every function returns what libsystemd returns:
// a count or 0/1 on success, -errno on failure. None of them touches the
// environment: TypeScript clears LISTEN_* itself.
#pragma once

#include <stdint.h>
#include <sys/types.h>

namespace sdact {

struct Backend {
  const char* name;     // "libsystemd" or "builtin"
  const char* linkage;  // "linked", "dlopen" or "none"
  int (*listen_fds_with_names)(int unset_environment, char*** names);
  int (*is_socket_inet)(int fd, int family, int type, int listening, uint16_t port);
  int (*is_socket_unix)(int fd, int type, int listening, const char* path, size_t length);
  int (*booted)(void);
  int (*watchdog_enabled)(int unset_environment, uint64_t* usec);
  // Blocking notify (libsystemd semantics); only ever called off the main thread.
  int (*pid_notify_with_fds)(pid_t pid, int unset_environment, const char* state,
                             const int* fds, unsigned n_fds);
};

// The builtin implementation; always available.
const Backend* builtin_backend();

// libsystemd, when this build has it and (for dlopen builds) the host has
// libsystemd.so.0. Returns nullptr otherwise. `path` receives the shared
// object's path when known.
const Backend* libsystemd_backend(const char** path);

// Builtin helpers shared by both backends.
namespace builtin {
// Fill a sockaddr_un from NOTIFY_SOCKET-style text ("/path" or "@abstract").
// Returns the address length or -EINVAL / -EPROTONOSUPPORT like libsystemd.
int notify_address(const char* text, struct sockaddr_un* addr);
// Wait until `fd` (the read end of a barrier pipe) reports a hangup: 1, or
// -ETIMEDOUT after `timeout` microseconds (UINT64_MAX: no limit).
int wait_hangup(int fd, uint64_t timeout);
// Raise a notify socket's send buffer as libsystemd's fd_inc_sndbuf(fd, 8M).
void inc_sndbuf(int fd);
// Send one notify datagram on `fd` (connected or with `addr`), with optional
// SCM_CREDENTIALS for `pid` and SCM_RIGHTS for fds. `flags` go to sendmsg.
int send_state(int fd, const struct sockaddr_un* addr, int addr_len, pid_t pid,
               const char* state, size_t state_len, const int* fds, unsigned n_fds, int flags);
}  // namespace builtin

}  // namespace sdact

namespace sdact {
// Newest LIBSYSTEMD_<n> version node of the loaded libsystemd, 0 if none.
long libsystemd_version();
}  // namespace sdact
