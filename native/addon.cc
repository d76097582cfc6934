// N-API entry: converts JavaScript primitives to C and raw results back.
// No policy here: every function returns a count, 0/1 or -errno, and
// TypeScript turns negative results into errors (lib/errors.ts).
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <napi.h>

#include "backend.h"
#include "sockets.h"

namespace sdact {
namespace {

const Backend* backend = nullptr;
const char* libsystemd_path = "";

// SD_ACTIVATE_BACKEND=builtin forces the builtin backend even where
// libsystemd is available (used to run the suite over both).
void choose_backend() {
  const char* want = getenv("SD_ACTIVATE_BACKEND");
  const Backend* lib = libsystemd_backend(&libsystemd_path);
  backend = (lib && !(want && strcmp(want, "builtin") == 0)) ? lib : builtin_backend();
}

// A 32-bit integer argument. Anything else (NaN, fractions, out of range) is
// a TypeError rather than silently wrapped: fd 2**32 + 3 must not become fd 3.
//
// Every arg_* helper does nothing once an exception is pending: functions read
// all their arguments before checking, and throwing a second exception on
// top of the first aborts the process (napi_pending_exception is fatal in
// node-addon-api without C++ exceptions).
int32_t arg_int(const Napi::CallbackInfo& info, size_t i) {
  if (info.Env().IsExceptionPending()) return 0;
  if (i < info.Length() && info[i].IsNumber()) {
    double d = info[i].As<Napi::Number>().DoubleValue();
    int32_t v = info[i].As<Napi::Number>().Int32Value();
    if ((double)v == d) return v;
  }
  Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be a 32-bit integer")
      .ThrowAsJavaScriptException();
  return 0;
}

std::string arg_string(const Napi::CallbackInfo& info, size_t i) {
  if (info.Env().IsExceptionPending()) return "";
  if (i >= info.Length() || !info[i].IsString()) {
    Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be a string")
        .ThrowAsJavaScriptException();
    return "";
  }
  return info[i].As<Napi::String>().Utf8Value();
}

std::vector<int> arg_fds(const Napi::CallbackInfo& info, size_t i) {
  std::vector<int> fds;
  if (info.Env().IsExceptionPending()) return fds;
  if (i >= info.Length() || !info[i].IsArray()) {
    Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be an array of fds")
        .ThrowAsJavaScriptException();
    return fds;
  }
  Napi::Array a = info[i].As<Napi::Array>();
  uint32_t n = a.Length();
  fds.reserve(n);
  for (uint32_t k = 0; k < n; k++) {
    Napi::Value v = a.Get(k);
    if (info.Env().IsExceptionPending()) return fds;  // a getter threw
    double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : 0.5;
    if (!(d >= INT32_MIN && d <= INT32_MAX) || (double)(int32_t)d != d) {
      Napi::TypeError::New(info.Env(), "fds must be 32-bit integers").ThrowAsJavaScriptException();
      return fds;
    }
    fds.push_back((int32_t)d);
  }
  return fds;
}

#define RETURN_IF_EXCEPTION(env) \
  if ((env).IsExceptionPending()) return (env).Undefined()

Napi::Value ListenFds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  char** names = nullptr;
  int r = backend->listen_fds_with_names(0, &names);
  Napi::Array list = Napi::Array::New(env);
  if (r > 0 && names) {
    for (uint32_t i = 0; names[i]; i++) list.Set(i, Napi::String::New(env, names[i]));
  }
  if (names) {
    for (char** p = names; *p; p++) free(*p);
    free(names);
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("result", r);
  out.Set("names", list);
  return out;
}

Napi::Value IsSocketInet(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = arg_int(info, 0), family = arg_int(info, 1), type = arg_int(info, 2);
  int listening = arg_int(info, 3), port = arg_int(info, 4);
  RETURN_IF_EXCEPTION(env);
  if (port < 0 || port > 65535) return Napi::Number::New(env, -EINVAL);
  return Napi::Number::New(env, backend->is_socket_inet(fd, family, type, listening, (uint16_t)port));
}

Napi::Value IsSocketUnix(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = arg_int(info, 0), type = arg_int(info, 1), listening = arg_int(info, 2);
  RETURN_IF_EXCEPTION(env);
  if (info.Length() < 4 || info[3].IsNull() || info[3].IsUndefined()) {
    return Napi::Number::New(env, backend->is_socket_unix(fd, type, listening, nullptr, 0));
  }
  std::string path = arg_string(info, 3);
  RETURN_IF_EXCEPTION(env);
  if (!path.empty() && path[0] == '@') path[0] = 0;  // abstract: leading NUL, explicit length
  return Napi::Number::New(env, backend->is_socket_unix(fd, type, listening, path.data(), path.size()));
}

Napi::Value DescribeSocket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = arg_int(info, 0);
  RETURN_IF_EXCEPTION(env);
  SocketInfo s;
  int r = describe_socket(fd, &s);
  if (r < 0) return Napi::Number::New(env, r);
  Napi::Object o = Napi::Object::New(env);
  o.Set("fileType", s.file_type);
  o.Set("family", s.family);
  o.Set("type", s.type);
  o.Set("listening", s.listening);
  o.Set("address", s.address);
  o.Set("port", s.port);
  o.Set("path", s.path);
  o.Set("v6only", s.v6only);
  return o;
}

Napi::Value Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = arg_int(info, 0);
  RETURN_IF_EXCEPTION(env);
  if (fd < 0) return Napi::Number::New(env, -EBADF);
  // close(2) releases the fd even when it reports EINTR on Linux: never retry.
  return Napi::Number::New(env, close(fd) < 0 && errno != EINTR ? -errno : 0);
}

Napi::Value Booted(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), backend->booted());
}

Napi::Value WatchdogEnabled(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint64_t usec = 0;
  int r = backend->watchdog_enabled(0, &usec);
  Napi::Object out = Napi::Object::New(env);
  out.Set("result", r);
  out.Set("usec", Napi::Number::New(env, (double)(r > 0 ? usec : 0)));
  return out;
}

Napi::Value Notify(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int pid = arg_int(info, 0);
  std::string state = arg_string(info, 1);
  std::vector<int> fds = arg_fds(info, 2);
  RETURN_IF_EXCEPTION(env);
  return Napi::Number::New(env, fast_notify(pid, state, fds.data(), (unsigned)fds.size()));
}

// Runs `work` on the libuv thread pool; the promise resolves to its result.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, std::function<int()> work)
      : Napi::AsyncWorker(env, "sd-activate"), deferred_(Napi::Promise::Deferred::New(env)),
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
  RETURN_IF_EXCEPTION(env);
  const Backend* b = backend;
  return Queue(env, [b, pid, state, fds]() {
    return b->pid_notify_with_fds(pid, 0, state.c_str(), fds.data(), (unsigned)fds.size());
  });
}

// sd_notify_barrier(0, timeout), in two steps: BARRIER=1 goes out at once on
// the main thread through the same non-blocking sender as notify() (so a
// receiver that stopped reading gives -EAGAIN instead of holding a worker
// thread forever in a blocking sendmsg), then the wait for the manager to
// close its end of the pipe runs on a worker thread.
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
  int r = fast_notify(0, "BARRIER=1", &pipe_fd[1], 1);
  close(pipe_fd[1]);
  if (r <= 0) {
    close(pipe_fd[0]);
    return Queue(env, [r]() { return r; });
  }
  int rd = pipe_fd[0];
  return Queue(env, [rd, usec]() {
    int w = builtin::wait_hangup(rd, usec);
    close(rd);
    return w;
  });
}

Napi::Value OpenSocket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string kind = arg_string(info, 0), address = arg_string(info, 1);
  int port = arg_int(info, 2), backlog = arg_int(info, 3), v6only = arg_int(info, 4);
  RETURN_IF_EXCEPTION(env);
  return Napi::Number::New(env, open_socket(kind, address, port, backlog, v6only));
}

// A notify receiver: an AF_UNIX datagram socket with SO_PASSCRED, read by a
// thread that hands each message to JavaScript through a thread-safe function.
class NotifyReceiver : public Napi::ObjectWrap<NotifyReceiver> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "NotifyReceiver",
                       {InstanceMethod("close", &NotifyReceiver::Close),
                        InstanceAccessor("fd", &NotifyReceiver::Fd, nullptr)});
  }

  explicit NotifyReceiver(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NotifyReceiver>(info) {
    Napi::Env env = info.Env();
    std::string path = arg_string(info, 0);
    if (env.IsExceptionPending()) return;
    if (info.Length() < 2 || !info[1].IsFunction()) {
      Napi::TypeError::New(env, "onMessage must be a function").ThrowAsJavaScriptException();
      return;
    }
    int fd = open_socket("unix-dgram", path, 0, -1, -1);
    if (fd < 0) {
      Napi::Error e = Napi::Error::New(env, std::string("bind ") + path + ": " + strerror(-fd));
      e.Set("errno", Napi::Number::New(env, fd));
      e.Set("syscall", Napi::String::New(env, "bind"));
      e.ThrowAsJavaScriptException();
      return;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one));
    fd_ = fd;
    tsfn_ = Napi::ThreadSafeFunction::New(env, info[1].As<Napi::Function>(), "sd-notify-receiver", 0, 1);
    thread_ = std::thread([this]() { Run(); });
  }

  ~NotifyReceiver() override { Stop(); }

 private:
  struct Message {
    std::string text;
    int pid = 0;
    std::vector<int> fds;
  };

  void Run() {
    std::vector<char> buf(65536);
    for (;;) {
      struct iovec iov = {buf.data(), buf.size()};
      alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * 768)];
      struct msghdr mh;
      memset(&mh, 0, sizeof(mh));
      mh.msg_iov = &iov;
      mh.msg_iovlen = 1;
      mh.msg_control = control;
      mh.msg_controllen = sizeof(control);
      ssize_t n = recvmsg(fd_, &mh, MSG_CMSG_CLOEXEC);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0 && stopping_) break;
      if (n < 0) break;
      auto* m = new Message();
      m->text.assign(buf.data(), (size_t)n);
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
      napi_status s = tsfn_.BlockingCall(m, [](Napi::Env env, Napi::Function cb, Message* msg) {
        Napi::Array fds = Napi::Array::New(env, msg->fds.size());
        for (uint32_t j = 0; j < msg->fds.size(); j++) fds.Set(j, msg->fds[j]);
        cb.Call({Napi::String::New(env, msg->text), Napi::Number::New(env, msg->pid), fds});
        delete msg;
      });
      if (s != napi_ok) {
        for (int f : m->fds) close(f);
        delete m;
        break;
      }
    }
  }

  void Stop() {
    if (fd_ < 0) return;
    stopping_ = true;
    shutdown(fd_, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    close(fd_);
    fd_ = -1;
    tsfn_.Release();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Stop();
    return info.Env().Undefined();
  }

  Napi::Value Fd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_); }

  int fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  Napi::ThreadSafeFunction tsfn_;
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  choose_backend();
  long version = libsystemd_version();
  bool lib = strcmp(backend->name, "libsystemd") == 0;
  exports.Set("backend", backend->name);
  exports.Set("linkage", backend->linkage);
  exports.Set("libsystemdVersion", lib && version > 0 ? std::to_string(version) : std::string());
  exports.Set("libsystemdPath", lib ? libsystemd_path : "");
  exports.Set("listenFds", Napi::Function::New(env, ListenFds));
  exports.Set("isSocketInet", Napi::Function::New(env, IsSocketInet));
  exports.Set("isSocketUnix", Napi::Function::New(env, IsSocketUnix));
  exports.Set("describeSocket", Napi::Function::New(env, DescribeSocket));
  exports.Set("close", Napi::Function::New(env, Close));
  exports.Set("booted", Napi::Function::New(env, Booted));
  exports.Set("watchdogEnabled", Napi::Function::New(env, WatchdogEnabled));
  exports.Set("notify", Napi::Function::New(env, Notify));
  exports.Set("notifyAsync", Napi::Function::New(env, NotifyAsync));
  exports.Set("barrier", Napi::Function::New(env, Barrier));
  exports.Set("openSocket", Napi::Function::New(env, OpenSocket));
  exports.Set("NotifyReceiver", NotifyReceiver::Init(env));
  return exports;
}

}  // namespace
}  // namespace sdact

static Napi::Object InitAll(Napi::Env env, Napi::Object exports) { return sdact::Init(env, exports); }

NODE_API_MODULE(sd_activate, InitAll)
