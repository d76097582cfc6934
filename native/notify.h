// SPDX-License-Identifier: MIT
// The sd_notify wire protocol, as both backends speak it (notify.cc): one
// datagram out with SCM_CREDENTIALS and SCM_RIGHTS to an address given as
// NOTIFY_SOCKET text, the product's non-blocking sender, and one datagram in.
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

namespace sdact {

// One notify message on a fresh, unconnected socket, as libsystemd sends
// every message: to the address text `e` of `l` bytes ("/path" or
// "@abstract", libsystemd 252's rules: -EINVAL / -ENAMETOOLONG otherwise),
// with SCM_CREDENTIALS for `pid` (0 or our own pid: none) and SCM_RIGHTS for
// `fds`. `wait`: block while the receiver's queue is full (else -EAGAIN).
// 1 or -errno.
int send_fresh(const char* e, size_t l, pid_t pid, std::string_view state, const int* fds, unsigned n_fds,
               bool wait);

// sd_pid_notify_with_fds() results without ever blocking: 0 when there is
// nowhere to send, 1 sent, -errno (-EAGAIN when the receiver's queue is
// full). `address` null: NOTIFY_SOCKET, read on every call, over one
// persistent connected socket (main thread only). `address` given: that
// address text, on a fresh socket (send_fresh), NOTIFY_SOCKET untouched.
int notify_nonblocking(pid_t pid, std::string_view state, const int* fds, unsigned n_fds,
                       const std::string* address);

// The NOTIFY_SOCKET text the persistent socket of notify_nonblocking() is
// connected to, or null when it is not connected.
const std::string* notify_connected_address();

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
