// SPDX-License-Identifier: MIT
/* Reference points for bench/notify.js, built at bench time with cc:
 *   notify-raw recv PATH        drain a datagram socket at PATH; print the count on SIGTERM
 *   notify-raw raw PATH N       N x sendmsg("STATUS=bench") on one connected socket (the physical limit)
 *   notify-raw sdnotify PATH N  N x libsystemd sd_notify(0, "STATUS=bench") (only with -DWITH_LIBSYSTEMD)
 *   notify-raw rawfd PATH N     N x sendmsg("FDSTORE=1...") passing one fd, on one connected socket
 *   notify-raw sdfds PATH N     N x libsystemd sd_pid_notify_with_fds(0, 0, "FDSTORE=1...", &fd, 1)
 *   notify-raw rawbarrier PATH N  N x (pipe, sendmsg BARRIER=1 with its write end, close it, poll for the hang-up)
 *   notify-raw sdbarrier PATH N   N x libsystemd sd_notify_barrier(0, 5 s)
 * Senders print nanoseconds per call and the number of failed calls. The
 * receiver reads without a control buffer: the kernel closes passed fds, as
 * the manager closes a barrier's at once. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#ifdef WITH_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

static volatile sig_atomic_t stop = 0;
static void on_term(int s) { (void)s; stop = 1; }

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static socklen_t address(const char *path, struct sockaddr_un *un) {
  memset(un, 0, sizeof(*un));
  un->sun_family = AF_UNIX;
  strncpy(un->sun_path, path, sizeof(un->sun_path) - 1);
  return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
}

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  struct sockaddr_un un;
  socklen_t len = address(argv[2], &un);
  if (strcmp(argv[1], "recv") == 0) {
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    int big = 256 << 20; /* root: SO_RCVBUFFORCE beyond rmem_max */
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
    unlink(argv[2]);
    if (bind(fd, (struct sockaddr *)&un, len) < 0) { perror("bind"); return 1; }
    struct sigaction sa; memset(&sa, 0, sizeof(sa)); sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    printf("ready\n"); fflush(stdout);
    long n = 0; char buf[4096];
    while (!stop) if (recv(fd, buf, sizeof(buf), 0) >= 0) n++;
    printf("%ld\n", n);
    unlink(argv[2]);
    return 0;
  }
  long n = argc > 3 ? atol(argv[3]) : 100000, failed = 0;
  const char *msg = "STATUS=bench", *store = "FDSTORE=1\nFDNAME=bench";
  double t0 = 0, t1 = 0;
  int pass = open("/dev/null", O_RDONLY | O_CLOEXEC); /* the fd the FDSTORE senders pass */
  if (strcmp(argv[1], "raw") == 0 || strcmp(argv[1], "rawfd") == 0 || strcmp(argv[1], "rawbarrier") == 0) {
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int size = 8 * 1024 * 1024; /* as libsystemd and sd-activate do */
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
    setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size));
    if (connect(fd, (struct sockaddr *)&un, len) < 0) { perror("connect"); return 1; }
    int with_fd = strcmp(argv[1], "raw") != 0, barrier = strcmp(argv[1], "rawbarrier") == 0;
    const char *text = barrier ? "BARRIER=1" : with_fd ? store : msg;
    t0 = now_ns();
    for (long i = 0; i < n; i++) {
      int p[2] = {-1, -1};
      if (barrier && pipe2(p, O_CLOEXEC) < 0) { failed++; continue; }
      struct iovec iov = {(void *)text, strlen(text)};
      struct msghdr mh; memset(&mh, 0, sizeof(mh));
      mh.msg_iov = &iov; mh.msg_iovlen = 1;
      union { struct cmsghdr align; char buf[CMSG_SPACE(sizeof(int))]; } control;
      if (with_fd) {
        memset(&control, 0, sizeof(control));
        mh.msg_control = control.buf; mh.msg_controllen = sizeof(control.buf);
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET; c->cmsg_type = SCM_RIGHTS; c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), barrier ? &p[1] : &pass, sizeof(int));
      }
      if (sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) failed++;
      if (barrier) {
        close(p[1]);
        struct pollfd pf = {p[0], 0, 0};
        if (poll(&pf, 1, 5000) != 1 || !(pf.revents & POLLHUP)) failed++;
        close(p[0]);
      }
    }
    t1 = now_ns();
  }
#ifdef WITH_LIBSYSTEMD
  else if (strcmp(argv[1], "sdnotify") == 0) {
    setenv("NOTIFY_SOCKET", argv[2], 1);
    t0 = now_ns();
    for (long i = 0; i < n; i++) if (sd_notify(0, msg) <= 0) failed++;
    t1 = now_ns();
  } else if (strcmp(argv[1], "sdfds") == 0) {
    setenv("NOTIFY_SOCKET", argv[2], 1);
    t0 = now_ns();
    for (long i = 0; i < n; i++) if (sd_pid_notify_with_fds(0, 0, store, &pass, 1) <= 0) failed++;
    t1 = now_ns();
  } else if (strcmp(argv[1], "sdbarrier") == 0) {
    setenv("NOTIFY_SOCKET", argv[2], 1);
    t0 = now_ns();
    for (long i = 0; i < n; i++) if (sd_notify_barrier(0, 5000000) < 0) failed++;
    t1 = now_ns();
  }
#endif
  else return 2;
  printf("%f %ld\n", (t1 - t0) / n, failed);
  return 0;
}
