// SPDX-License-Identifier: MIT
/* Reference points for bench/notify.js, built at bench time with cc:
 *   notify-raw recv PATH        drain a datagram socket at PATH; print the count on SIGTERM
 *   notify-raw raw PATH N       N x sendmsg("STATUS=bench") on one connected socket (the physical limit)
 *   notify-raw sdnotify PATH N  N x libsystemd sd_notify(0, "STATUS=bench") (only with -DWITH_LIBSYSTEMD)
 * Senders print nanoseconds per call and the number of failed calls. */
#include <errno.h>
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
  const char *msg = "STATUS=bench";
  double t0 = 0, t1 = 0;
  if (strcmp(argv[1], "raw") == 0) {
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int size = 8 * 1024 * 1024; /* as libsystemd and sd-activate do */
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
    setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size));
    if (connect(fd, (struct sockaddr *)&un, len) < 0) { perror("connect"); return 1; }
    t0 = now_ns();
    for (long i = 0; i < n; i++) {
      struct iovec iov = {(void *)msg, strlen(msg)};
      struct msghdr mh; memset(&mh, 0, sizeof(mh));
      mh.msg_iov = &iov; mh.msg_iovlen = 1;
      if (sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) failed++;
    }
    t1 = now_ns();
  }
#ifdef WITH_LIBSYSTEMD
  else if (strcmp(argv[1], "sdnotify") == 0) {
    setenv("NOTIFY_SOCKET", argv[2], 1);
    t0 = now_ns();
    for (long i = 0; i < n; i++) if (sd_notify(0, msg) <= 0) failed++;
    t1 = now_ns();
  }
#endif
  else return 2;
  printf("%f %ld\n", (t1 - t0) / n, failed);
  return 0;
}
