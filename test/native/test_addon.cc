// SPDX-License-Identifier: MIT
// The test addon: every export of the product addon (native/addon.cc, built
// again here with libsystemd wherever scripts/test-addon.js finds it), plus
// primitives only the tests and the leak check use:
//   notifyAsync(pid, state, fds)  the backend's own blocking notify
//                                 (libsystemd's sd_pid_notify_with_fds, or
//                                 the builtin equivalent) on a worker thread
//   barrier(timeoutUsec)          sd_notify_barrier() in C, for comparison
//                                 with lib/notify.ts barrier()
//   buildMode                     how this build reaches libsystemd:
//                                 libsystemd (linked), dlopen or builtin
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "addon.h"
#include "args.h"
#include "notify.h"

#if SDACT_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace sdact {
namespace {

#if SDACT_LIBSYSTEMD
const char* kBuildMode = "libsystemd";
int libsystemd_notify(pid_t pid, const std::string& state, const int* fds, unsigned n_fds) {
  return sd_pid_notify_with_fds(pid, 0, state.c_str(), fds, n_fds);
}
#elif SDACT_DLOPEN
const char* kBuildMode = "dlopen";
int libsystemd_notify(pid_t pid, const std::string& state, const int* fds, unsigned n_fds) {
  using Fn = int (*)(pid_t, int, const char*, const int*, unsigned);
  static Fn fn = [] {
    void* h = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
    return h ? reinterpret_cast<Fn>(dlsym(h, "sd_pid_notify_with_fds")) : nullptr;
  }();
  return fn ? fn(pid, 0, state.c_str(), fds, n_fds) : -ENOSYS;
}
#else
const char* kBuildMode = "builtin";
int libsystemd_notify(pid_t, const std::string&, const int*, unsigned) { return -ENOSYS; }
#endif

// The builtin backend's blocking notify, as libsystemd sends: NOTIFY_SOCKET
// read on every call, a fresh socket per message.
int builtin_notify(pid_t pid, const std::string& state, const int* fds, unsigned n_fds) {
  const char* e = getenv("NOTIFY_SOCKET");
  return e ? send_fresh(e, strlen(e), pid, state, fds, n_fds, true) : 0;
}

// The backend's own blocking notify: one of the two, chosen with the backend.
int (*backend_notify)(pid_t, const std::string&, const int*, unsigned) = builtin_notify;

uint64_t now_usec() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

// fd_wait_for_event(fd, 0, timeout) as sd_notify_barrier() uses it: poll at
// least once (a zero timeout still sees a hangup that already happened),
// UINT64_MAX waits forever. 1 on POLLHUP, -ETIMEDOUT when time ran out.
int wait_hangup(int fd, uint64_t timeout) {
  uint64_t start = now_usec();
  uint64_t deadline = timeout == UINT64_MAX             ? UINT64_MAX
                      : timeout >= UINT64_MAX - 1 - start ? UINT64_MAX - 1
                                                          : start + timeout;
  for (;;) {
    int ms = -1;
    if (deadline != UINT64_MAX) {
      uint64_t now = now_usec();
      uint64_t left = now >= deadline ? 0 : deadline - now;
      uint64_t m = (left + 999) / 1000;
      ms = m > (uint64_t)INT32_MAX ? INT32_MAX : (int)m;
    }
    struct pollfd pfd = {fd, 0, 0};
    int p = poll(&pfd, 1, ms);
    if (p < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    if (p == 0) {
      if (deadline != UINT64_MAX && now_usec() < deadline) continue;
      return -ETIMEDOUT;
    }
    if (pfd.revents & POLLNVAL) return -EBADF;
    return 1;
  }
}

// Runs `work` on the libuv thread pool; the promise resolves to its result.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, std::function<int()> work)
      : Napi::AsyncWorker(env, "sd-activate-test"), deferred_(Napi::Promise::Deferred::New(env)),
        work_(std::move(work)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { result_ = work_(); }
  void OnOK() override { deferred_.Resolve(Napi::Number::New(Env(), result_)); }

 private:
  Napi::Promise::Deferred deferred_;
  std::function<int()> work_;
  int result_ = 0;
};

Napi::Value Queue(Napi::Env env, std::function<int()> work) {
  auto* w = new PromiseWorker(env, std::move(work));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

Napi::Value NotifyAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int pid = arg_int(info, 0);
  std::string state = arg_string(info, 1);
  std::vector<int> fds = arg_fds(info, 2);
  SDACT_RETURN_IF_EXCEPTION(env);
  auto* send = backend_notify;
  return Queue(env, [send, pid, state, fds]() {
    return send(pid, state, fds.data(), (unsigned)fds.size());
  });
}

// sd_notify_barrier(0, timeout), in two steps: BARRIER=1 goes out at once on
// the main thread through the product's non-blocking sender (so a receiver
// that stopped reading gives -EAGAIN instead of holding a worker thread in a
// blocking sendmsg), then the wait for the manager to close its end of the
// pipe runs on a worker thread. A negative timeout waits forever.
Napi::Value Barrier(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber() || std::isnan(info[0].As<Napi::Number>().DoubleValue())) {
    Napi::TypeError::New(env, "timeout must be a number").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  double t = info[0].As<Napi::Number>().DoubleValue();
  uint64_t usec = t < 0 || t >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)t;
  int pipe_fd[2];
  if (pipe2(pipe_fd, O_CLOEXEC) < 0) {
    int r = -errno;
    return Queue(env, [r]() { return r; });
  }
  int r = notify_nonblocking(0, "BARRIER=1", &pipe_fd[1], 1, nullptr);
  close(pipe_fd[1]);
  if (r <= 0) {
    close(pipe_fd[0]);
    return Queue(env, [r]() { return r; });
  }
  int rd = pipe_fd[0];
  return Queue(env, [rd, usec]() {
    int w = wait_hangup(rd, usec);
    close(rd);
    return w;
  });
}

}  // namespace
}  // namespace sdact

static Napi::Object InitTest(Napi::Env env, Napi::Object exports) {
  sdact::Init(env, exports);
  // Init set `backend` to the name of the backend it chose.
  if (exports.Get("backend").As<Napi::String>().Utf8Value() == "libsystemd") {
    sdact::backend_notify = sdact::libsystemd_notify;
  }
  exports.Set("buildMode", sdact::kBuildMode);
  exports.Set("notifyAsync", Napi::Function::New(env, sdact::NotifyAsync));
  exports.Set("barrier", Napi::Function::New(env, sdact::Barrier));
  return exports;
}

NODE_API_MODULE(sd_activate_test, InitTest)
