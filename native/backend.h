// SPDX-License-Identifier: MIT
// The table of sd-daemon primitives. Two implementations fill it: libsystemd
// (linked, or loaded at run time with dlopen) and builtin (the same stable
// protocols written out). Every function returns what libsystemd returns:
// a count or 0/1 on success, -errno on failure. None of them touches the
// environment: TypeScript clears LISTEN_* itself. Notify is not here: both
// backends send through the same non-blocking sender (notify.h).
#pragma once

#include <stddef.h>
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
};

// The builtin implementation; always available.
const Backend* builtin_backend();

// libsystemd, when this build has it and (for dlopen builds) the host has
// libsystemd.so.0. Returns nullptr otherwise. `path` receives the shared
// object's path when known.
const Backend* libsystemd_backend(const char** path);

// Newest LIBSYSTEMD_<n> version node of the loaded libsystemd, 0 if none.
long libsystemd_version();

}  // namespace sdact
