// SPDX-License-Identifier: MIT
// The sd_notify wire protocol (notify.h): libsystemd 252's address rules and
// datagram layout, and the product's non-blocking sender.
//
// The sender keeps libsystemd's sd_pid_notify_with_fds() semantics
// (NOTIFY_SOCKET read on every call, unset -> 0, same address errors), but
// over one persistent, connected, non-blocking socket. It never blocks: a
// receiver whose queue is full yields -EAGAIN at once. The socket is
// reconnected when NOTIFY_SOCKET changes or the receiver went away and came
// back (a manager re-executing itself re-creates its socket).
#include "notify.h"

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace sdact {
namespace {

// Fill a sockaddr_un from NOTIFY_SOCKET-style text of `l` bytes ("/path" or
// "@abstract"): the address length, or -EINVAL / -ENAMETOOLONG.
int notify_address(const char* e, size_t l, struct sockaddr_un* addr) {
  // sockaddr_un_set_path() as libsystemd 252 uses it for NOTIFY_SOCKET: an
  // absolute path or an abstract name, more than the prefix, and room for a
  // trailing NUL in either case; too long is -ENAMETOOLONG for a path and
  // -EINVAL for an abstract name. (An environment variable cannot hold a NUL
  // byte; an explicit address with one is no address either.)
  memset(addr, 0, sizeof(*addr));
  addr->sun_family = AF_UNIX;
  if (l < 2 || (e[0] != '@' && e[0] != '/') || memchr(e, 0, l)) return -EINVAL;
  if (l + 1 > sizeof(addr->sun_path)) return e[0] == '@' ? -EINVAL : -ENAMETOOLONG;
  memcpy(addr->sun_path, e, l);
  if (e[0] == '@') {
    addr->sun_path[0] = 0;
    return (int)(offsetof(struct sockaddr_un, sun_path) + l);
  }
  return (int)(offsetof(struct sockaddr_un, sun_path) + l + 1);
}

// Raise a notify socket's send buffer as libsystemd's fd_inc_sndbuf(fd, 8M).
void inc_sndbuf(int fd) {
  // fd_inc_sndbuf(fd, 8 MiB) as libsystemd does for its notify socket, so the
  // same large messages fit: SO_SNDBUF (capped at wmem_max), then
  // SO_SNDBUFFORCE where privileged. Failures are ignored, as there.
  const int n = 8 * 1024 * 1024;
  int v = 0;
  socklen_t l = sizeof(v);
  if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, &l) == 0 && l == sizeof(v) && v >= 2 * n) return;
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &n, sizeof(n)) < 0) return;
  l = sizeof(v);
  if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, &l) == 0 && l == sizeof(v) && v >= 2 * n) return;
  (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &n, sizeof(n));
}

// Send one notify datagram on `fd` (connected, or to `addr`), with
// SCM_CREDENTIALS for `pid` (0 or our own pid: none) and SCM_RIGHTS for
// `fds`. `flags` go to sendmsg. 1 or -errno.
int send_state(int fd, const struct sockaddr_un* addr, int addr_len, pid_t pid, std::string_view state,
               const int* fds, unsigned n_fds, int flags) {
  struct iovec iov = {(void*)state.data(), state.size()};
  struct msghdr mh;
  memset(&mh, 0, sizeof(mh));
  mh.msg_name = (void*)addr;
  mh.msg_namelen = addr ? (socklen_t)addr_len : 0;
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;

  bool send_ucred = pid != 0 && pid != getpid();
  size_t space = (n_fds > 0 ? CMSG_SPACE(sizeof(int) * n_fds) : 0) +
                 (send_ucred ? CMSG_SPACE(sizeof(struct ucred)) : 0);
  // Ancillary data on the stack for the common sizes (no allocation per call).
  alignas(struct cmsghdr) char small[CMSG_SPACE(sizeof(int) * 16) + CMSG_SPACE(sizeof(struct ucred))];
  std::vector<char> large;
  char* control = small;
  if (space > sizeof(small)) {
    large.resize(space);
    control = large.data();
  }
  if (space > 0) {
    memset(control, 0, space);
    mh.msg_control = control;
    mh.msg_controllen = space;
    struct cmsghdr* c = CMSG_FIRSTHDR(&mh);
    if (n_fds > 0) {
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
      memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
      c = CMSG_NXTHDR(&mh, c);
    }
    if (send_ucred) {
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_CREDENTIALS;
      c->cmsg_len = CMSG_LEN(sizeof(struct ucred));
      struct ucred uc = {pid, getuid(), getgid()};
      memcpy(CMSG_DATA(c), &uc, sizeof(uc));
    }
  }
  ssize_t k;
  do {
    k = sendmsg(fd, &mh, flags);
  } while (k < 0 && errno == EINTR);
  if (k < 0 && send_ucred) {
    // As libsystemd: if the credentials of `pid` were refused (not
    // privileged, no such process), send once more with our own.
    mh.msg_controllen -= CMSG_SPACE(sizeof(struct ucred));
    if (mh.msg_controllen == 0) mh.msg_control = nullptr;
    do {
      k = sendmsg(fd, &mh, flags);
    } while (k < 0 && errno == EINTR);
  }
  if (k < 0) return -errno;
  return 1;
}

// A non-blocking (nonblock = SOCK_NONBLOCK) or blocking (0) datagram socket
// for the address text `e` (`l` bytes), its address in `addr`/`len`: the fd,
// or -errno (address errors as libsystemd gives them).
int open_notify_socket(const char* e, size_t l, struct sockaddr_un* addr, int* len, int nonblock) {
  *len = notify_address(e, l, addr);
  if (*len < 0) return *len;
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | nonblock, 0);
  if (fd < 0) return -errno;
  // Datagrams in flight are charged to the sender's buffer until the manager
  // reads them, so a small one fills first.
  inc_sndbuf(fd);
  return fd;
}

}  // namespace

int send_fresh(const char* e, size_t l, pid_t pid, std::string_view state, const int* fds, unsigned n_fds,
               bool wait) {
  struct sockaddr_un addr;
  int len;
  int fd = open_notify_socket(e, l, &addr, &len, wait ? 0 : SOCK_NONBLOCK);
  if (fd < 0) return fd;
  int r = send_state(fd, &addr, len, pid, state, fds, n_fds, MSG_NOSIGNAL | (wait ? 0 : MSG_DONTWAIT));
  close(fd);
  return r;
}

int receive_notify(int fd, std::vector<char>* buf, NotifyMessage* m) {
  struct iovec iov = {buf->data(), buf->size()};
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * 768)];
  struct msghdr mh;
  memset(&mh, 0, sizeof(mh));
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = control;
  mh.msg_controllen = sizeof(control);
  ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
  if (n < 0) return -errno;
  m->text.assign(buf->data(), (size_t)n);
  m->pid = 0;
  m->fds.clear();
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_level != SOL_SOCKET) continue;
    if (c->cmsg_type == SCM_CREDENTIALS) {
      struct ucred uc;
      memcpy(&uc, CMSG_DATA(c), sizeof(uc));
      m->pid = uc.pid;
    } else if (c->cmsg_type == SCM_RIGHTS) {
      size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t j = 0; j < k; j++) {
        int f;
        memcpy(&f, CMSG_DATA(c) + j * sizeof(int), sizeof(int));
        m->fds.push_back(f);
      }
    }
  }
  return (int)n;
}

namespace {

struct Sender {
  std::string address;
  int fd = -1;
  // The last send on fd failed with EAGAIN: the receiver's queue was full.
  bool full = false;
};
Sender sender;  // touched on the main thread only

void disconnect() {
  if (sender.fd >= 0) close(sender.fd);
  sender.fd = -1;
  sender.full = false;
  sender.address.clear();
}

int connect_to(const char* e, size_t l) {
  struct sockaddr_un addr;
  int len;
  int fd = open_notify_socket(e, l, &addr, &len, SOCK_NONBLOCK);
  if (fd < 0) return fd;
  if (connect(fd, (struct sockaddr*)&addr, (socklen_t)len) < 0) {
    int r = -errno;
    close(fd);
    return r;
  }
  sender.fd = fd;
  sender.address.assign(e, l);
  return 0;
}

// Whether a send of a small message without fds on the connected socket
// would fail with EAGAIN: poll(2) reports a datagram socket writable unless
// its peer's receive queue (or its own send buffer) is full, the two checks
// sendmsg(2) fails on with EAGAIN. A message with fds or a large one is always
// sent, so a bad fd or EMSGSIZE is still reported first, as the kernel does.
bool queue_full(std::string_view state, unsigned n_fds) {
  if (!sender.full || n_fds > 0 || state.size() > 4096) return false;
  struct pollfd p = {sender.fd, POLLOUT, 0};
  return poll(&p, 1, 0) == 0;
}

bool stale(int r) {
  return r == -ECONNREFUSED || r == -ENOTCONN || r == -ENOENT || r == -EDESTADDRREQ ||
         r == -EPIPE || r == -ECONNRESET;
}

}  // namespace

// When connecting fails, this one message goes out on a fresh socket, as
// libsystemd sends every message: the kernel then reports whatever it checks
// first (a bad fd in SCM_RIGHTS, or a message too large, before a missing
// path), which is libsystemd's answer.
int notify_nonblocking(pid_t pid, std::string_view state, const int* fds, unsigned n_fds,
                       const std::string* address) {
  if (address) return send_fresh(address->data(), address->size(), pid, state, fds, n_fds, false);
  const char* e = getenv("NOTIFY_SOCKET");
  if (!e) {
    disconnect();
    return 0;
  }
  size_t l = strlen(e);
  if (sender.fd < 0 || sender.address != e) {
    disconnect();
    if (connect_to(e, l) < 0) return send_fresh(e, l, pid, state, fds, n_fds, false);
  }
  // Once a send found the queue full, a poll answers until it drains: a failed
  // sendmsg costs the kernel a buffer allocated, filled and freed.
  if (queue_full(state, n_fds)) return -EAGAIN;
  const int flags = MSG_NOSIGNAL | MSG_DONTWAIT;
  int r = send_state(sender.fd, nullptr, 0, pid, state, fds, n_fds, flags);
  if (stale(r)) {
    disconnect();
    if (connect_to(e, l) < 0) return send_fresh(e, l, pid, state, fds, n_fds, false);
    r = send_state(sender.fd, nullptr, 0, pid, state, fds, n_fds, flags);
  }
  sender.full = r == -EAGAIN;
  return r;
}

const std::string* notify_connected_address() {
  return sender.fd >= 0 ? &sender.address : nullptr;
}

}  // namespace sdact
