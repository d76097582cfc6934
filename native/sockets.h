// SPDX-License-Identifier: MIT
// Socket probing and creation, the same whatever the backend (plain syscalls).
#pragma once

#include <string>

namespace sdact {

struct SocketInfo {
  std::string file_type;  // socket, fifo, file, chr, dir, blk, symlink, other
  std::string family;     // inet, inet6, unix, other, "" (not a socket)
  std::string type;       // stream, dgram, seqpacket, other, none
  bool listening = false;
  std::string address;
  int port = 0;
  std::string path;  // "@name" for abstract, "" for unnamed
  bool v6only = false;
};

// 0 and `info` filled, or -errno.
int describe_socket(int fd, SocketInfo* info);

// kind: tcp, udp, unix, unix-dgram, seqpacket (anything else: -EINVAL).
// Returns a CLOEXEC fd or -errno. port: 0..65535, which the caller checks.
// backlog < 0 leaves a stream socket bound but not listening.
// v6only: -1 kernel default, 0 dual-stack, 1 IPv6 only.
int open_socket(const std::string& kind, const std::string& address, int port, int backlog,
                int v6only);

}  // namespace sdact
