// SPDX-License-Identifier: MIT
// JavaScript arguments to C. node-addon-api's As<T>() does not check the
// type it casts to, so every argument is checked here: a value of the wrong
// type is a TypeError, never reinterpreted memory. Value checks (ranges,
// formats) are TypeScript's.
//
// Every helper does nothing once an exception is pending: functions read all
// their arguments before checking, and throwing a second exception on top of
// the first aborts the process (napi_pending_exception is fatal in
// node-addon-api without C++ exceptions).
#pragma once

#include <stdint.h>

#include <string>
#include <vector>

#include <napi.h>

namespace sdact {

inline void throw_type_error(const Napi::CallbackInfo& info, size_t i, const char* what) {
  Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be " + what)
      .ThrowAsJavaScriptException();
}

// A 32-bit integer argument. Anything else (NaN, fractions, out of range) is
// a TypeError rather than silently wrapped: fd 2**32 + 3 must not become fd 3.
inline int32_t arg_int(const Napi::CallbackInfo& info, size_t i) {
  if (info.Env().IsExceptionPending()) return 0;
  if (i < info.Length() && info[i].IsNumber()) {
    double d = info[i].As<Napi::Number>().DoubleValue();
    int32_t v = info[i].As<Napi::Number>().Int32Value();
    if ((double)v == d) return v;
  }
  throw_type_error(info, i, "a 32-bit integer");
  return 0;
}

inline std::string arg_string(const Napi::CallbackInfo& info, size_t i) {
  if (info.Env().IsExceptionPending()) return "";
  if (i >= info.Length() || !info[i].IsString()) {
    throw_type_error(info, i, "a string");
    return "";
  }
  return info[i].As<Napi::String>().Utf8Value();
}

// An optional string: false when absent (not passed, undefined or null),
// else true with the string in `out` (a TypeError for any other type).
inline bool arg_optional_string(const Napi::CallbackInfo& info, size_t i, std::string* out) {
  if (info.Env().IsExceptionPending()) return false;
  if (i >= info.Length() || info[i].IsUndefined() || info[i].IsNull()) return false;
  *out = arg_string(info, i);
  return true;
}

// An optional boolean: `dflt` when absent (not passed or undefined), a
// TypeError for anything but a boolean.
inline bool arg_optional_bool(const Napi::CallbackInfo& info, size_t i, bool dflt) {
  if (info.Env().IsExceptionPending()) return dflt;
  if (i >= info.Length() || info[i].IsUndefined()) return dflt;
  if (!info[i].IsBoolean()) {
    throw_type_error(info, i, "a boolean");
    return dflt;
  }
  return info[i].As<Napi::Boolean>().Value();
}

inline std::vector<int> arg_fds(const Napi::CallbackInfo& info, size_t i) {
  std::vector<int> fds;
  if (info.Env().IsExceptionPending()) return fds;
  if (i >= info.Length() || !info[i].IsArray()) {
    throw_type_error(info, i, "an array of fds");
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

}  // namespace sdact

#define SDACT_RETURN_IF_EXCEPTION(env) \
  if ((env).IsExceptionPending()) return (env).Undefined()
