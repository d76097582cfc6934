// SPDX-License-Identifier: MIT
// The addon's entry: exactly the primitives lib/ calls (lib/binding.ts
// NativeBinding), converting JavaScript arguments to C (args.h) and raw
// results back. No policy here: every function returns a count, 0/1 or
// -errno, and TypeScript turns negative results into errors (lib/errors.ts).
#include "addon.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <pthread.h>
#include <sched.h>
#include <vector>

#include "args.h"
#include "backend.h"
#include "notify.h"
#include "sockets.h"

namespace sdact {
namespace {

// The backend, chosen on first use, so that loading the addon costs no dlopen
// of libsystemd (and its libraries) until something needs it; or chosen on a
// thread of its own once chooseBackendSoon() asks (lib/binding.ts, for a
// process its LISTEN_PID names, which needs it at once): the main thread then
// loads JavaScript while libsystemd loads, and a first use meanwhile waits.
// SD_ACTIVATE_BACKEND=builtin forces the builtin backend even where
// libsystemd is available (used to run the suite over both). Atomics, not a
// mutex or call_once: no libc symbol newer than the prebuilds' floor.
std::atomic<const Backend*> chosen{nullptr};
std::atomic<bool> choosing{false};
const char* libsystemd_path = "";

bool builtin_requested() {
  const char* want = getenv("SD_ACTIVATE_BACKEND");
  return want && strcmp(want, "builtin") == 0;
}

// Choose, unless another thread already does: true when this call chose.
bool choose(bool builtin) {
  if (choosing.exchange(true)) return false;
  const Backend* lib = builtin ? nullptr : libsystemd_backend(&libsystemd_path);
  chosen.store(lib ? lib : builtin_backend(), std::memory_order_release);
  return true;
}

const Backend* backend() {
  const Backend* b = chosen.load(std::memory_order_acquire);
  if (b) return b;
  if (!choose(builtin_requested())) {
    while (!(b = chosen.load(std::memory_order_acquire))) sched_yield();  // the other thread is in dlopen
  }
  return chosen.load(std::memory_order_acquire);
}

void* ChooseOnThread(void* builtin) {
  choose(builtin != nullptr);
  return nullptr;
}

// chooseBackendSoon(): start choosing the backend on a thread of its own. The
// environment is read here, on the main thread (getenv races with setenv).
Napi::Value ChooseBackendSoon(const Napi::CallbackInfo& info) {
  if (!chosen.load(std::memory_order_acquire) && !choosing.load()) {
    pthread_t t;
    if (pthread_create(&t, nullptr, ChooseOnThread, builtin_requested() ? (void*)1 : nullptr) == 0) pthread_detach(t);
  }
  return info.Env().Undefined();
}

bool is_libsystemd() { return strcmp(backend()->name, "libsystemd") == 0; }

Napi::Value BackendName(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), backend()->name); }
Napi::Value Linkage(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), backend()->linkage); }
Napi::Value LibsystemdVersion(const Napi::CallbackInfo& info) {
  long version = is_libsystemd() ? libsystemd_version() : 0;
  return Napi::String::New(info.Env(), version > 0 ? std::to_string(version) : std::string());
}
Napi::Value LibsystemdPath(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), is_libsystemd() ? libsystemd_path : "");
}

// listenFds(withNames = true): without names, sd_listen_fds_with_names(0, NULL),
// which is sd_listen_fds(0): LISTEN_FDNAMES is not read.
Napi::Value ListenFds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bool with_names = arg_optional_bool(info, 0, true);
  SDACT_RETURN_IF_EXCEPTION(env);
  char** names = nullptr;
  int r = backend()->listen_fds_with_names(0, with_names ? &names : nullptr);
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
  SDACT_RETURN_IF_EXCEPTION(env);
  return Napi::Number::New(env, backend()->is_socket_inet(fd, family, type, listening, (uint16_t)port));
}

Napi::Value IsSocketUnix(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = arg_int(info, 0), type = arg_int(info, 1), listening = arg_int(info, 2);
  std::string path;
  bool has_path = arg_optional_string(info, 3, &path);
  SDACT_RETURN_IF_EXCEPTION(env);
  if (!has_path) return Napi::Number::New(env, backend()->is_socket_unix(fd, type, listening, nullptr, 0));
  if (!path.empty() && path[0] == '@') path[0] = 0;  // abstract: leading NUL, explicit length
  return Napi::Number::New(env, backend()->is_socket_unix(fd, type, listening, path.data(), path.size()));
}

Napi::Value DescribeSocket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = arg_int(info, 0);
  SDACT_RETURN_IF_EXCEPTION(env);
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
  SDACT_RETURN_IF_EXCEPTION(env);
  if (fd < 0) return Napi::Number::New(env, -EBADF);
  // close(2) releases the fd even when it reports EINTR on Linux: never retry.
  return Napi::Number::New(env, close(fd) < 0 && errno != EINTR ? -errno : 0);
}

// dup(fd): a new close-on-exec fd (>= 3) for the same open socket, or -errno.
Napi::Value Dup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = arg_int(info, 0);
  SDACT_RETURN_IF_EXCEPTION(env);
  if (fd < 0) return Napi::Number::New(env, -EBADF);
  int r = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  return Napi::Number::New(env, r < 0 ? -errno : r);
}

// fstat(2) of fd as "st_dev:st_ino" in decimal, as systemd writes
// JOURNAL_STREAM, or -errno. Node's fs.fstatSync did the same at a first-call
// cost of about 0.25 ms in the activation path.
Napi::Value FileId(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = arg_int(info, 0);
  SDACT_RETURN_IF_EXCEPTION(env);
  struct stat st;
  if (fd < 0) return Napi::Number::New(env, -EBADF);
  if (fstat(fd, &st) < 0) return Napi::Number::New(env, -errno);
  return Napi::String::New(env, std::to_string((unsigned long long)st.st_dev) + ":" +
                                    std::to_string((unsigned long long)st.st_ino));
}

// write(2) all of text (UTF-8) to fd: the bytes written, or -errno. A partial
// write continues, EINTR retries, and a non-blocking fd that is full is waited
// for (poll(2)) instead of losing the line, for at most 1 s in all: the event
// loop never waits longer than that for a reader that does not read. After a
// timeout (-EAGAIN) part of the text may have been written.
static int64_t monotonic_ms() {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

Napi::Value WriteText(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = arg_int(info, 0);
  std::string text = arg_string(info, 1);
  SDACT_RETURN_IF_EXCEPTION(env);
  if (fd < 0) return Napi::Number::New(env, -EBADF);
  size_t done = 0;
  int64_t deadline = -1;
  while (done < text.size()) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n > 0) {
      done += (size_t)n;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (deadline < 0) deadline = monotonic_ms() + 1000;
      struct pollfd p = {fd, POLLOUT, 0};
      int r;
      do {
        int64_t left = deadline - monotonic_ms();
        r = left > 0 ? poll(&p, 1, (int)left) : 0;
      } while (r < 0 && errno == EINTR);
      if (r <= 0) return Napi::Number::New(env, r < 0 ? -errno : -EAGAIN);
    } else {
      return Napi::Number::New(env, n < 0 ? -errno : -EIO);
    }
  }
  return Napi::Number::New(env, (double)done);
}

Napi::Value Booted(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), backend()->booted());
}

Napi::Value WatchdogEnabled(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint64_t usec = 0;
  int r = backend()->watchdog_enabled(0, &usec);
  Napi::Object out = Napi::Object::New(env);
  out.Set("result", r);
  out.Set("usec", Napi::Number::New(env, (double)(r > 0 ? usec : 0)));
  return out;
}

// notify(pid, state, fds, address?): address absent, undefined or null means NOTIFY_SOCKET.
Napi::Value Notify(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int pid = arg_int(info, 0);
  std::string state = arg_string(info, 1);
  std::vector<int> fds = arg_fds(info, 2);
  std::string address;
  bool explicit_address = arg_optional_string(info, 3, &address);
  SDACT_RETURN_IF_EXCEPTION(env);
  return Napi::Number::New(env, notify_nonblocking(pid, state, fds.data(), (unsigned)fds.size(),
                                                   explicit_address ? &address : nullptr));
}

// notify(0, state, []) to NOTIFY_SOCKET, the hot path of status(), ready() and
// co.: one argument, read with plain N-API, the text copied to the stack when
// it fits (no allocation per call).
napi_value NotifyState(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg = nullptr, out = nullptr;
  char small[1024];
  size_t len = 0;
  if (napi_get_cb_info(env, info, &argc, &arg, nullptr, nullptr) != napi_ok || argc < 1 ||
      napi_get_value_string_utf8(env, arg, small, sizeof(small), &len) != napi_ok) {
    napi_throw_type_error(env, nullptr, "argument 1 must be a string");
    return nullptr;
  }
  // A copy that stops within 4 bytes (one UTF-8 character) of the end may be cut short.
  std::string large;
  const char* text = small;
  if (len + 4 >= sizeof(small)) {
    napi_get_value_string_utf8(env, arg, nullptr, 0, &len);
    large.resize(len + 1);
    napi_get_value_string_utf8(env, arg, large.data(), len + 1, &len);
    text = large.data();
  }
  napi_create_int32(env, notify_nonblocking(0, std::string_view(text, len), nullptr, 0, nullptr), &out);
  return out;
}

// The address the last notify(0, ...) or notifyState() to NOTIFY_SOCKET went
// to on the persistent socket (the text of NOTIFY_SOCKET then), or undefined.
// A failure reports it without reading the environment again.
Napi::Value NotifyAddress(const Napi::CallbackInfo& info) {
  const std::string* a = notify_connected_address();
  return a ? Napi::String::New(info.Env(), *a) : info.Env().Undefined();
}

// The sending half of sd_notify_barrier(3): a fresh pipe, BARRIER=1 with its
// write end (to `address`, else NOTIFY_SOCKET), the write end closed here at
// once. Returns { sent, fd }: sent 1 with fd the read end (CLOEXEC, the
// caller's to watch for the hang-up that says the manager has closed its
// copy, and to close), 0 nowhere to send, or -errno; fd -1 unless sent is 1.
Napi::Value BarrierSend(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string address;
  bool explicit_address = arg_optional_string(info, 0, &address);
  SDACT_RETURN_IF_EXCEPTION(env);
  Napi::Object out = Napi::Object::New(env);
  int p[2];
  int sent = pipe2(p, O_CLOEXEC) < 0 ? -errno : 1;
  if (sent > 0) {
    sent = notify_nonblocking(0, "BARRIER=1", &p[1], 1, explicit_address ? &address : nullptr);
    close(p[1]);  // only the manager's copy (in flight or received) holds the pipe open now
    if (sent <= 0) close(p[0]);
  }
  out.Set("sent", sent);
  out.Set("fd", sent > 0 ? p[0] : -1);
  return out;
}

Napi::Value OpenSocket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string kind = arg_string(info, 0), address = arg_string(info, 1);
  int port = arg_int(info, 2), backlog = arg_int(info, 3), v6only = arg_int(info, 4);
  SDACT_RETURN_IF_EXCEPTION(env);
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
    // pthread, not std::thread: std::thread's constructor needs GLIBCXX_3.4.22,
    // newer than what Node 20's own binary requires (docs/building.md).
    if (pthread_create(&thread_, nullptr, &NotifyReceiver::RunThread, this) == 0) {
      running_ = true;
    } else {
      close(fd_);
      fd_ = -1;
      tsfn_.Release();
      Napi::Error::New(env, "pthread_create failed").ThrowAsJavaScriptException();
    }
  }

  ~NotifyReceiver() override { Stop(); }

 private:
  static void Deliver(Napi::Env env, Napi::Function cb, NotifyMessage* m) {
    Napi::Array fds = Napi::Array::New(env, m->fds.size());
    for (uint32_t j = 0; j < m->fds.size(); j++) fds.Set(j, m->fds[j]);
    cb.Call({Napi::String::New(env, m->text), Napi::Number::New(env, m->pid), fds});
    delete m;
  }

  static void* RunThread(void* self) {
    static_cast<NotifyReceiver*>(self)->Run();
    return nullptr;
  }

  void Run() {
    std::vector<char> buf(65536);
    auto* m = new NotifyMessage();
    for (;;) {
      int r = receive_notify(fd_, &buf, m);
      if (r == -EINTR) continue;
      if (r < 0 || (r == 0 && stopping_)) break;
      if (tsfn_.BlockingCall(m, Deliver) != napi_ok) break;
      m = new NotifyMessage();  // Deliver owns the one it was given
    }
    for (int f : m->fds) close(f);  // received, never delivered
    delete m;
  }

  void Stop() {
    if (fd_ < 0) return;
    stopping_ = true;
    shutdown(fd_, SHUT_RDWR);
    if (running_) pthread_join(thread_, nullptr);
    running_ = false;
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
  pthread_t thread_{};
  bool running_ = false;
  Napi::ThreadSafeFunction tsfn_;
};

// A one-shot wait for the first readable fd among listening or datagram
// sockets (the command's --lazy start): a pending connection or datagram is
// seen, never accepted or read. The fds are shared with children, so their
// flags stay as they are: no uv_poll (it sets O_NONBLOCK) but a thread blocked
// in poll(2), woken through a pipe by close(). The lowest-index fd with any
// event (POLLIN, or POLLERR/POLLHUP/POLLNVAL: whoever uses the socket next
// meets the error) goes to onReadable once, or -errno when poll itself fails;
// then the thread ends. After close() nothing is delivered, not even a call
// the thread queued just before.
class ReadableWatch : public Napi::ObjectWrap<ReadableWatch> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "ReadableWatch", {InstanceMethod("close", &ReadableWatch::Close)});
  }

  explicit ReadableWatch(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ReadableWatch>(info) {
    Napi::Env env = info.Env();
    std::vector<int> fds = arg_fds(info, 0);
    if (env.IsExceptionPending()) return;
    bool bad = fds.size() > 1024;
    for (int fd : fds) bad = bad || fd < 0;
    if (bad || info.Length() < 2 || !info[1].IsFunction()) {
      const char* what = bad ? "fds must be at most 1024 non-negative fds" : "onReadable must be a function";
      Napi::TypeError::New(env, what).ThrowAsJavaScriptException();
      return;
    }
    if (pipe2(wake_, O_CLOEXEC) < 0) {
      Napi::Error::New(env, std::string("pipe2: ") + strerror(errno)).ThrowAsJavaScriptException();
      return;
    }
    for (int fd : fds) polled_.push_back({fd, POLLIN, 0});
    polled_.push_back({wake_[0], POLLIN, 0});  // last: the wake pipe
    // The thread holds the thread-safe function (and so keeps the event loop
    // alive) until it ends. pthread, not std::thread: see NotifyReceiver.
    tsfn_ = Napi::ThreadSafeFunction::New(env, info[1].As<Napi::Function>(), "sd-readable-watch", 0, 1);
    if (pthread_create(&thread_, nullptr, &ReadableWatch::RunThread, this) == 0) {
      running_ = true;
    } else {
      tsfn_.Release();
      Stop();
      Napi::Error::New(env, "pthread_create failed").ThrowAsJavaScriptException();
    }
  }

  ~ReadableWatch() override {
    Stop();
    shared_->Unref();
  }

 private:
  // Shared by the object and a queued delivery, freed by the last of the two
  // to let go. `closed` is read and written on the event loop only.
  struct Shared {
    std::atomic<int> refs{1};
    bool closed = false;
    void Unref() {
      if (--refs == 0) delete this;
    }
  };

  static void* RunThread(void* self) {
    static_cast<ReadableWatch*>(self)->Run();
    return nullptr;
  }

  void Run() {
    int r;
    do r = poll(polled_.data(), polled_.size(), -1);
    while (r < 0 && errno == EINTR);
    size_t i = 0, n = polled_.size() - 1;  // the last one is the wake pipe
    while (r > 0 && i < n && !polled_[i].revents) i++;
    if (r < 0 || i < n) {  // else only the wake pipe: close() or destroyed
      int what = r < 0 ? -errno : polled_[i].fd;
      Shared* s = shared_;
      s->refs++;
      auto deliver = [s, what](Napi::Env env, Napi::Function cb) {
        if (!s->closed) cb.Call({Napi::Number::New(env, what)});
        s->Unref();
      };
      if (tsfn_.BlockingCall(deliver) != napi_ok) s->Unref();
    }
    tsfn_.Release();
  }

  void Stop() {
    if (wake_[1] < 0) return;
    shared_->closed = true;
    char c = 0;
    while (write(wake_[1], &c, 1) < 0 && errno == EINTR) {
    }
    if (running_) pthread_join(thread_, nullptr);
    running_ = false;
    close(wake_[0]);
    close(wake_[1]);
    wake_[0] = wake_[1] = -1;
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Stop();
    return info.Env().Undefined();
  }

  std::vector<struct pollfd> polled_;
  int wake_[2] = {-1, -1};
  Shared* shared_ = new Shared();
  pthread_t thread_{};
  bool running_ = false;
  Napi::ThreadSafeFunction tsfn_;
};

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // Read on first use (the backend is chosen then); enumerable, as plain values would be.
  const auto e = napi_enumerable;
  exports.DefineProperties({
      Napi::PropertyDescriptor::Accessor(env, exports, "backend", BackendName, e),
      Napi::PropertyDescriptor::Accessor(env, exports, "linkage", Linkage, e),
      Napi::PropertyDescriptor::Accessor(env, exports, "libsystemdVersion", LibsystemdVersion, e),
      Napi::PropertyDescriptor::Accessor(env, exports, "libsystemdPath", LibsystemdPath, e),
  });
  exports.Set("listenFds", Napi::Function::New(env, ListenFds));
  exports.Set("isSocketInet", Napi::Function::New(env, IsSocketInet));
  exports.Set("isSocketUnix", Napi::Function::New(env, IsSocketUnix));
  exports.Set("describeSocket", Napi::Function::New(env, DescribeSocket));
  exports.Set("close", Napi::Function::New(env, Close));
  exports.Set("dup", Napi::Function::New(env, Dup));
  exports.Set("fileId", Napi::Function::New(env, FileId));
  exports.Set("writeText", Napi::Function::New(env, WriteText));
  exports.Set("booted", Napi::Function::New(env, Booted));
  exports.Set("watchdogEnabled", Napi::Function::New(env, WatchdogEnabled));
  exports.Set("notify", Napi::Function::New(env, Notify));
  exports.Set("barrierSend", Napi::Function::New(env, BarrierSend));
  napi_value notify_state = nullptr;
  napi_create_function(env, "notifyState", NAPI_AUTO_LENGTH, NotifyState, nullptr, &notify_state);
  exports.Set("notifyState", Napi::Value(env, notify_state));
  exports.Set("notifyAddress", Napi::Function::New(env, NotifyAddress));
  exports.Set("chooseBackendSoon", Napi::Function::New(env, ChooseBackendSoon));
  exports.Set("openSocket", Napi::Function::New(env, OpenSocket));
  exports.Set("NotifyReceiver", NotifyReceiver::Init(env));
  exports.Set("ReadableWatch", ReadableWatch::Init(env));
  return exports;
}

}  // namespace sdact

// The test addon (test/native) compiles this file too and registers a module
// of its own around Init.
#ifndef SDACT_TEST_ADDON
static Napi::Object InitAll(Napi::Env env, Napi::Object exports) { return sdact::Init(env, exports); }
NODE_API_MODULE(sd_activate, InitAll)
#endif
