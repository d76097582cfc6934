// SPDX-License-Identifier: MIT
// Socket probing and creation (sockets.h).
#include "sockets.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace sdact {
namespace {

const char* file_type_name(mode_t m) {
  if (S_ISSOCK(m)) return "socket";
  if (S_ISFIFO(m)) return "fifo";
  if (S_ISREG(m)) return "file";
  if (S_ISCHR(m)) return "chr";
  if (S_ISDIR(m)) return "dir";
  if (S_ISBLK(m)) return "blk";
  if (S_ISLNK(m)) return "symlink";
  return "other";
}

int int_opt(int fd, int level, int name, int* out) {
  socklen_t l = sizeof(*out);
  *out = 0;
  return getsockopt(fd, level, name, out, &l) < 0 ? -errno : 0;
}

// "/path", "@abstract" or "" into a sockaddr_un; returns its length or -errno.
int unix_address(const std::string& path, struct sockaddr_un* un) {
  memset(un, 0, sizeof(*un));
  un->sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(un->sun_path)) return -EINVAL;
  memcpy(un->sun_path, path.data(), path.size());
  if (path[0] == '@') {
    un->sun_path[0] = 0;
    return (int)(offsetof(struct sockaddr_un, sun_path) + path.size());
  }
  return (int)(offsetof(struct sockaddr_un, sun_path) + path.size() + 1);
}

}  // namespace

int describe_socket(int fd, SocketInfo* info) {
  struct stat st;
  if (fd < 0) return -EBADF;
  if (fstat(fd, &st) < 0) return -errno;
  *info = SocketInfo();
  info->file_type = file_type_name(st.st_mode);
  info->type = "none";
  if (!S_ISSOCK(st.st_mode)) return 0;

  int type = 0, accepting = 0, r;
  if ((r = int_opt(fd, SOL_SOCKET, SO_TYPE, &type)) < 0) return r;
  if ((r = int_opt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting)) < 0) return r;
  info->type = type == SOCK_STREAM ? "stream" : type == SOCK_DGRAM ? "dgram"
             : type == SOCK_SEQPACKET ? "seqpacket" : "other";
  info->listening = accepting != 0;

  struct sockaddr_storage ss;
  socklen_t l = sizeof(ss);
  memset(&ss, 0, sizeof(ss));
  if (getsockname(fd, (struct sockaddr*)&ss, &l) < 0) return -errno;
  char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2] = "";
  switch (ss.ss_family) {
    case AF_INET: {
      auto* in = (struct sockaddr_in*)&ss;
      info->family = "inet";
      inet_ntop(AF_INET, &in->sin_addr, buf, sizeof(buf));
      info->address = buf;
      info->port = ntohs(in->sin_port);
      break;
    }
    case AF_INET6: {
      auto* in6 = (struct sockaddr_in6*)&ss;
      info->family = "inet6";
      inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof(buf));
      info->address = buf;
      if (in6->sin6_scope_id != 0) {
        char ifname[IF_NAMESIZE] = "";
        info->address += "%";
        info->address += if_indextoname(in6->sin6_scope_id, ifname)
                             ? std::string(ifname)
                             : std::to_string(in6->sin6_scope_id);
      }
      info->port = ntohs(in6->sin6_port);
      int v6only = 0;
      if (int_opt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only) == 0) info->v6only = v6only != 0;
      break;
    }
    case AF_UNIX: {
      auto* un = (struct sockaddr_un*)&ss;
      info->family = "unix";
      size_t base = offsetof(struct sockaddr_un, sun_path);
      if (l <= base) break;  // unnamed
      size_t n = l - base;
      if (un->sun_path[0] == 0) {
        info->path = "@" + std::string(un->sun_path + 1, n - 1);
      } else {
        info->path = std::string(un->sun_path, strnlen(un->sun_path, n));
      }
      break;
    }
    default:
      info->family = "other";
  }
  return 0;
}

int open_socket(const std::string& kind, const std::string& address, int port, int backlog,
                int v6only) {
  bool is_unix = kind == "unix" || kind == "unix-dgram" || kind == "seqpacket";
  int type = kind == "udp" || kind == "unix-dgram" ? SOCK_DGRAM
           : kind == "seqpacket" ? SOCK_SEQPACKET : SOCK_STREAM;
  if (!is_unix && kind != "tcp" && kind != "udp") return -EINVAL;

  struct sockaddr_storage ss;
  socklen_t len;
  memset(&ss, 0, sizeof(ss));
  if (is_unix) {
    int r = unix_address(address, (struct sockaddr_un*)&ss);
    if (r < 0) return r;
    len = (socklen_t)r;
  } else {
    struct addrinfo hints, *res = nullptr;
    memset(&hints, 0, sizeof(hints));
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
    hints.ai_socktype = type;
    std::string service = std::to_string(port);
    int g = getaddrinfo(address.c_str(), service.c_str(), &hints, &res);
    if (g != 0 || !res) return -EINVAL;
    memcpy(&ss, res->ai_addr, res->ai_addrlen);
    len = res->ai_addrlen;
    freeaddrinfo(res);
  }

  int fd = socket(ss.ss_family, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int one = 1;
  if (!is_unix && type == SOCK_STREAM) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (ss.ss_family == AF_INET6 && v6only >= 0) {
    int v = v6only ? 1 : 0;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v, sizeof(v));
  }
  int r = 0;
  if (bind(fd, (struct sockaddr*)&ss, len) < 0) r = -errno;
  if (r == 0 && type != SOCK_DGRAM && backlog >= 0 && listen(fd, backlog) < 0) r = -errno;
  if (r < 0) {
    close(fd);
    return r;
  }
  return fd;
}

}  // namespace sdact
