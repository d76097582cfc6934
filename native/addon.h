// SPDX-License-Identifier: MIT
// What the addon entry (addon.cc) offers a module that builds on it: the
// test addon under test/native registers the same exports plus its own.
#pragma once

#include <napi.h>

#include "backend.h"

namespace sdact {

// Choose the backend (SD_ACTIVATE_BACKEND) and set every export on `exports`.
Napi::Object Init(Napi::Env env, Napi::Object exports);

// The backend Init chose.
const Backend* active_backend();

}  // namespace sdact
