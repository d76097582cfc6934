// SPDX-License-Identifier: MIT
// What the addon entry (addon.cc) offers a module that builds on it: the
// test addon under test/native registers the same exports plus its own.
#pragma once

#include <napi.h>

namespace sdact {

// Choose the backend (SD_ACTIVATE_BACKEND) and set every export on `exports`
// (`exports.backend` names the one chosen).
Napi::Object Init(Napi::Env env, Napi::Object exports);

}  // namespace sdact
