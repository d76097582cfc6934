// SPDX-License-Identifier: MIT
// The sd_notify wire protocol, as both backends speak it: the address a
// NOTIFY_SOCKET text names, one datagram out (with SCM_CREDENTIALS and
// SCM_RIGHTS), one datagram in, and the non-blocking sender the product's
// notify() uses whatever the backend.
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include <string>
#include <vector>

struct sockaddr_un;

namespace sdact {

// Fill a sockaddr_un from NOTIFY_SOCKET-style text of `length` bytes ("/path"
// or "@abstract"). Returns the address length, or -EINVAL / -ENAMETOOLONG as
// libsystemd 252 gives them.
int notify_address(const char* text, size_t length, struct sockaddr_un* addr);

// Raise a notify socket's send buffer as libsystemd's fd_inc_sndbuf(fd, 8M).
void inc_sndbuf(int fd);

// Send one notify datagram on `fd` (connected, or to `addr`), with
// SCM_CREDENTIALS for `pid` (0 or our own pid: none) and SCM_RIGHTS for
// `fds`. `flags` go to sendmsg. 1 or -errno.
int send_state(int fd, const struct sockaddr_un* addr, int addr_len, pid_t pid, const char* state,
               size_t state_len, const int* fds, unsigned n_fds, int flags);

// sd_pid_notify_with_fds() results without ever blocking: 0 when there is
// nowhere to send, 1 sent, -errno (-EAGAIN when the receiver's queue is
// full). `address` null: NOTIFY_SOCKET, read on every call, over one
// persistent connected socket (main thread only). `address` given: that
// address, on a socket of its own, NOTIFY_SOCKET untouched.
int notify_nonblocking(pid_t pid, const std::string& state, const int* fds, unsigned n_fds,
                       const std::string* address);

// One datagram as a notify receiver sees it.
struct NotifyMessage {
  std::string text;
  int pid = 0;           // SCM_CREDENTIALS, 0 when absent
  std::vector<int> fds;  // SCM_RIGHTS, CLOEXEC
};

// Receive one datagram into `buf` (its size bounds the text) and `message`,
// on a socket with SO_PASSCRED. Returns its length (>= 0) or -errno.
int receive_notify(int fd, std::vector<char>* buf, NotifyMessage* message);

}  // namespace sdact
