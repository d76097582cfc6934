// SPDX-License-Identifier: MIT
// The builtin backend: sd-daemon(3)'s stable protocols written out, with the
// same results libsystemd 252 gives (the parity tests compare the two).
// Notify is not a backend function: both send through notify.h.
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <netinet/in.h>

#include <string>
#include <vector>

#include "backend.h"

namespace sdact {
namespace {

const int kListenFdsStart = 3;

// Skip leading whitespace and take systemd's "0b"/"0o" prefixes; otherwise
// strtol's base 0 rules apply (0x hex, leading 0 octal), as in systemd's
// safe_ato*() family.
const char* mangle_base(const char* s, int* base) {
  s += strspn(s, " \t\n\r");
  *base = 0;
  if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) { *base = 2; return s + 2; }
  if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) { *base = 8; return s + 2; }
  return s;
}

// safe_atoi(): whole string, int range.
int parse_int(const char* s, int* out) {
  int base;
  s = mangle_base(s, &base);
  char* end = nullptr;
  errno = 0;
  long v = strtol(s, &end, base);
  if (errno > 0) return -errno;
  if (!end || end == s || *end != 0) return -EINVAL;
  if ((long)(int)v != v) return -ERANGE;
  *out = (int)v;
  return 0;
}

// safe_atou64()/safe_atolu(): whole string, unsigned, a '-' sign refused.
int parse_u64(const char* s, unsigned long long* out) {
  int base;
  s = mangle_base(s, &base);
  char* end = nullptr;
  errno = 0;
  unsigned long long v = strtoull(s, &end, base);
  if (errno > 0) return -errno;
  if (!end || end == s || *end != 0) return -EINVAL;
  if (v != 0 && s[0] == '-') return -ERANGE;
  *out = v;
  return 0;
}

// parse_pid(): a positive pid_t.
int parse_pid(const char* s, pid_t* out) {
  unsigned long long v = 0;
  int r = parse_u64(s, &v);
  if (r < 0) return r;
  pid_t pid = (pid_t)v;
  if ((unsigned long long)pid != v || pid <= 0) return -ERANGE;
  *out = pid;
  return 0;
}

int fd_cloexec(int fd) {
  int flags = fcntl(fd, F_GETFD, 0);
  if (flags < 0) return -errno;
  if (flags & FD_CLOEXEC) return 0;
  if (fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0) return -errno;
  return 0;
}

int listen_fds() {
  const char* e = getenv("LISTEN_PID");
  if (!e) return 0;
  pid_t pid;
  int r = parse_pid(e, &pid);
  if (r < 0) return r;
  if (getpid() != pid) return 0;
  e = getenv("LISTEN_FDS");
  if (!e) return 0;
  int n;
  r = parse_int(e, &n);
  if (r < 0) return r;
  if (n <= 0 || n > INT32_MAX - kListenFdsStart) return -EINVAL;
  for (int fd = kListenFdsStart; fd < kListenFdsStart + n; fd++) {
    r = fd_cloexec(fd);
    if (r < 0) return r;
  }
  return n;
}

char** strv_new(const std::vector<std::string>& v) {
  char** out = (char**)calloc(v.size() + 1, sizeof(char*));
  if (!out) return nullptr;
  for (size_t i = 0; i < v.size(); i++) {
    out[i] = strdup(v[i].c_str());
    if (!out[i]) {
      for (size_t j = 0; j < i; j++) free(out[j]);
      free(out);
      return nullptr;
    }
  }
  return out;
}

// strv_split_full(&l, e, ":", EXTRACT_DONT_COALESCE_SEPARATORS) as systemd
// 252 does it: every ':' separates (so "" is one empty name and "a:" two),
// a backslash takes the next byte literally (a\:b is one name "a:b"), and
// a trailing backslash is an error (-EINVAL). Quotes have no meaning.
int split_names(const char* e, std::vector<std::string>* out) {
  std::string word;
  bool backslash = false;
  for (const char* p = e;; p++) {
    char c = *p;
    if (backslash) {
      if (c == 0) return -EINVAL;
      word.push_back(c);
      backslash = false;
    } else if (c == 0) {
      out->push_back(word);
      return 0;
    } else if (c == '\\') {
      backslash = true;
    } else if (c == ':') {
      out->push_back(word);
      word.clear();
    } else {
      word.push_back(c);
    }
  }
}

int b_listen_fds_with_names(int /*unset_environment*/, char*** names) {
  // As libsystemd: without a names pointer this is sd_listen_fds().
  if (!names) return listen_fds();
  // The names are split before anything else, so a malformed LISTEN_FDNAMES
  // is an error even when LISTEN_PID names another process (as in libsystemd).
  const char* e = getenv("LISTEN_FDNAMES");
  std::vector<std::string> l;
  if (e) {
    int r = split_names(e, &l);
    if (r < 0) return r;
  }
  int n = listen_fds();
  if (n <= 0) return n;
  if (e) {
    if ((int)l.size() != n) return -EINVAL;
  } else {
    l.assign((size_t)n, "unknown");
  }
  *names = strv_new(l);
  if (!*names) return -ENOMEM;
  return n;
}

int is_socket_internal(int fd, int type, int listening) {
  struct stat st;
  if (fd < 0) return -EBADF;
  if (type < 0) return -EINVAL;
  if (fstat(fd, &st) < 0) return -errno;
  if (!S_ISSOCK(st.st_mode)) return 0;
  if (type != 0) {
    int other = 0;
    socklen_t l = sizeof(other);
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &other, &l) < 0) return -errno;
    if (l != sizeof(other)) return -EINVAL;
    if (other != type) return 0;
  }
  if (listening >= 0) {
    int accepting = 0;
    socklen_t l = sizeof(accepting);
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &l) < 0) return -errno;
    if (l != sizeof(accepting)) return -EINVAL;
    if (!accepting != !listening) return 0;
  }
  return 1;
}

int b_is_socket_inet(int fd, int family, int type, int listening, uint16_t port) {
  if (fd < 0) return -EBADF;
  if (family != 0 && family != AF_INET && family != AF_INET6) return -EINVAL;
  int r = is_socket_internal(fd, type, listening);
  if (r <= 0) return r;
  struct sockaddr_storage ss;
  socklen_t l = sizeof(ss);
  memset(&ss, 0, sizeof(ss));
  if (getsockname(fd, (struct sockaddr*)&ss, &l) < 0) return -errno;
  if (l < sizeof(sa_family_t)) return -EINVAL;
  if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6) return 0;
  if (family != 0 && ss.ss_family != family) return 0;
  if (port > 0) {
    uint16_t p = ss.ss_family == AF_INET ? ((struct sockaddr_in*)&ss)->sin_port
                                         : ((struct sockaddr_in6*)&ss)->sin6_port;
    if (ntohs(p) != port) return 0;
  }
  return 1;
}

int b_is_socket_unix(int fd, int type, int listening, const char* path, size_t length) {
  if (fd < 0) return -EBADF;
  int r = is_socket_internal(fd, type, listening);
  if (r <= 0) return r;
  struct sockaddr_un un;
  socklen_t l = sizeof(un);
  memset(&un, 0, sizeof(un));
  if (getsockname(fd, (struct sockaddr*)&un, &l) < 0) return -errno;
  if (l < sizeof(sa_family_t)) return -EINVAL;
  if (un.sun_family != AF_UNIX) return 0;
  if (path) {
    size_t base = offsetof(struct sockaddr_un, sun_path);
    if (length == 0) length = strlen(path);
    if (length == 0) return l == base;
    if (path[0]) return l >= base + length + 1 && memcmp(path, un.sun_path, length + 1) == 0;
    return l == base + length && memcmp(path, un.sun_path, length) == 0;
  }
  return 1;
}

int b_booted(void) {
  struct stat st;
  if (lstat("/run/systemd/system/", &st) < 0) return errno == ENOENT ? 0 : -errno;
  return S_ISDIR(st.st_mode) ? 1 : 0;
}

int b_watchdog_enabled(int /*unset_environment*/, uint64_t* usec) {
  const char* s = getenv("WATCHDOG_USEC");
  if (!s) return 0;
  unsigned long long u;
  int r = parse_u64(s, &u);
  if (r < 0) return r;
  if (u == 0 || u == UINT64_MAX) return -EINVAL;  // !timestamp_is_set()
  const char* p = getenv("WATCHDOG_PID");
  if (p) {
    pid_t pid;
    r = parse_pid(p, &pid);
    if (r < 0) return r;
    if (getpid() != pid) return 0;
  }
  if (usec) *usec = u;
  return 1;
}

const Backend kBuiltin = {
    "builtin", "none",
    b_listen_fds_with_names, b_is_socket_inet, b_is_socket_unix, b_booted,
    b_watchdog_enabled,
};

}  // namespace

const Backend* builtin_backend() { return &kBuiltin; }

}  // namespace sdact
