// SPDX-License-Identifier: MIT
// The libsystemd backend. SDACT_LIBSYSTEMD=1: linked against libsystemd
// (found by pkg-config at build time). SDACT_DLOPEN=1: no load-time
// dependency; libsystemd.so.0 is opened at run time when the host has it
// (the prebuilt binaries). Neither: this backend does not exist.
#include <dlfcn.h>
#include <link.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

#if SDACT_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace sdact {

namespace {
// libsystemd's version is the newest LIBSYSTEMD_<n> symbol version its
// loaded image defines (each release that adds API adds one).
int verdef_cb(struct dl_phdr_info* info, size_t, void* data) {
  if (!info->dlpi_name || !strstr(info->dlpi_name, "libsystemd.so")) return 0;
  const char* strtab = nullptr;
  const char* verdef = nullptr;
  size_t count = 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    if (info->dlpi_phdr[i].p_type != PT_DYNAMIC) continue;
    for (auto* d = (const ElfW(Dyn)*)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr); d->d_tag != DT_NULL; d++) {
      ElfW(Addr) a = d->d_un.d_ptr < info->dlpi_addr ? d->d_un.d_ptr + info->dlpi_addr : d->d_un.d_ptr;
      if (d->d_tag == DT_STRTAB) strtab = (const char*)a;
      if (d->d_tag == DT_VERDEF) verdef = (const char*)a;
      if (d->d_tag == DT_VERDEFNUM) count = d->d_un.d_val;
    }
  }
  if (!strtab || !verdef) return 0;
  long best = 0;
  for (size_t i = 0; i < count; i++) {
    auto* vd = (const ElfW(Verdef)*)verdef;
    auto* aux = (const ElfW(Verdaux)*)(verdef + vd->vd_aux);
    const char* name = strtab + aux->vda_name;
    if (strncmp(name, "LIBSYSTEMD_", 11) == 0) {
      long v = strtol(name + 11, nullptr, 10);
      if (v > best) best = v;
    }
    if (!vd->vd_next) break;
    verdef += vd->vd_next;
  }
  *(long*)data = best;
  return 1;
}
}  // namespace

long libsystemd_version() {
  long v = 0;
  dl_iterate_phdr(verdef_cb, &v);
  return v;
}

#if SDACT_LIBSYSTEMD

const Backend* libsystemd_backend(const char** path) {
  static const Backend b = {
      "libsystemd", "linked",
      sd_listen_fds_with_names, sd_is_socket_inet, sd_is_socket_unix, sd_booted,
      sd_watchdog_enabled,
  };
  if (path) {
    Dl_info info;
    *path = dladdr((void*)sd_booted, &info) && info.dli_fname ? info.dli_fname : "";
  }
  return &b;
}

#elif SDACT_DLOPEN

namespace {
// Every symbol here exists since libsystemd 227 (sd_listen_fds_with_names); an older
// library counts as absent and the builtin backend runs instead.
template <typename T>
bool sym(void* h, const char* name, T* out) {
  *out = reinterpret_cast<T>(dlsym(h, name));
  return *out != nullptr;
}
}  // namespace

const Backend* libsystemd_backend(const char** path) {
  static Backend b;
  static bool tried = false, ok = false;
  static char where[512] = "";
  if (!tried) {
    tried = true;
    void* h = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
    if (h) {
      b.name = "libsystemd";
      b.linkage = "dlopen";
      ok = sym(h, "sd_listen_fds_with_names", &b.listen_fds_with_names) &&
           sym(h, "sd_is_socket_inet", &b.is_socket_inet) &&
           sym(h, "sd_is_socket_unix", &b.is_socket_unix) &&
           sym(h, "sd_booted", &b.booted) &&
           sym(h, "sd_watchdog_enabled", &b.watchdog_enabled);
      struct link_map* lm = nullptr;
      if (ok && dlinfo(h, RTLD_DI_LINKMAP, &lm) == 0 && lm && lm->l_name) {
        size_t i = 0;
        for (; lm->l_name[i] && i + 1 < sizeof(where); i++) where[i] = lm->l_name[i];
        where[i] = 0;
      }
      if (!ok) dlclose(h);
    }
  }
  if (path) *path = where;
  return ok ? &b : nullptr;
}

#else

const Backend* libsystemd_backend(const char** path) {
  if (path) *path = "";
  return nullptr;
}

#endif

}  // namespace sdact
