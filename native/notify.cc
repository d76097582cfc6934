// The main-thread notify sender: libsystemd's sd_pid_notify_with_fds()
// semantics (NOTIFY_SOCKET read on every call, unset -> 0, same address
// errors), but over one persistent, connected, non-blocking socket. It never
// blocks: a receiver whose queue is full yields -EAGAIN at once. The socket is
// reconnected when NOTIFY_SOCKET changes or the receiver went away and came
// back (a manager re-executing itself re-creates its socket).
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "backend.h"
#include "sockets.h"

namespace sdact {
namespace {

struct Sender {
  std::string address;
  int fd = -1;
};
Sender sender;  // touched on the main thread only

void disconnect() {
  if (sender.fd >= 0) close(sender.fd);
  sender.fd = -1;
  sender.address.clear();
}

// A non-blocking datagram socket for NOTIFY_SOCKET text `e`, its address in
// `addr`/`len`: the fd, or -errno (address errors as libsystemd gives them).
int open_notify_socket(const char* e, struct sockaddr_un* addr, int* len) {
  *len = builtin::notify_address(e, addr);
  if (*len < 0) return *len;
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -errno;
  // Datagrams in flight are charged to the sender's buffer until the manager
  // reads them, so a small one fills first.
  builtin::inc_sndbuf(fd);
  return fd;
}

int connect_to(const char* e) {
  struct sockaddr_un addr;
  int len;
  int fd = open_notify_socket(e, &addr, &len);
  if (fd < 0) return fd;
  if (connect(fd, (struct sockaddr*)&addr, (socklen_t)len) < 0) {
    int r = -errno;
    close(fd);
    return r;
  }
  sender.fd = fd;
  sender.address = e;
  return 0;
}

bool stale(int r) {
  return r == -ECONNREFUSED || r == -ENOTCONN || r == -ENOENT || r == -EDESTADDRREQ ||
         r == -EPIPE || r == -ECONNRESET;
}

// libsystemd sends every message on a fresh, unconnected socket, so when the
// receiver cannot be reached the kernel reports whatever it checks first (a
// bad fd in SCM_RIGHTS, or a message too large, before a missing path). When
// connecting fails, this one message goes out that way to get that answer.
int send_unconnected(const char* e, int pid, const std::string& state, const int* fds, unsigned n_fds) {
  struct sockaddr_un addr;
  int len;
  int fd = open_notify_socket(e, &addr, &len);
  if (fd < 0) return fd;
  int r = builtin::send_state(fd, &addr, len, pid, state.data(), state.size(), fds, n_fds,
                              MSG_NOSIGNAL | MSG_DONTWAIT);
  close(fd);
  return r < 0 ? r : 1;
}

}  // namespace

int fast_notify(int pid, const std::string& state, const int* fds, unsigned n_fds) {
  const char* e = getenv("NOTIFY_SOCKET");
  if (!e) {
    disconnect();
    return 0;
  }
  if (sender.fd < 0 || sender.address != e) {
    disconnect();
    int r = connect_to(e);
    if (r < 0) return send_unconnected(e, pid, state, fds, n_fds);
  }
  const int flags = MSG_NOSIGNAL | MSG_DONTWAIT;
  int r = builtin::send_state(sender.fd, nullptr, 0, pid, state.data(), state.size(), fds, n_fds, flags);
  if (stale(r)) {
    disconnect();
    r = connect_to(e);
    if (r < 0) return send_unconnected(e, pid, state, fds, n_fds);
    r = builtin::send_state(sender.fd, nullptr, 0, pid, state.data(), state.size(), fds, n_fds, flags);
  }
  return r < 0 ? r : 1;
}

}  // namespace sdact
