#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Sanitizer and leak leg (run by .ci/run; callable alone from the repo root):
#   1. the addon and the test addon (test/native) built with AddressSanitizer
#      + UndefinedBehaviorSanitizer (node-gyp, CXXFLAGS/LDFLAGS) run every
#      suite in test/*.test.js (not the real-manager e2e suite) with the
#      sanitizer runtimes preloaded into node; any report from the native
#      layer fails. The runtimes go to node processes only: the test helpers
#      spawn sh and python3 without them (SD_ACTIVATE_SANITIZER_PRELOAD, see
#      test/helpers/common.js), and waits get SD_ACTIVATE_TIME_SCALE's slack
#   2. valgrind over scripts/leak-check.js (every primitive, thousands of
#      calls) on a plain build: no memory error, no "definitely lost" block,
#      no fd growth
# It leaves plain (unsanitized) builds in build/ and test/native/build/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${SD_ACTIVATE_LEAK_ROUNDS:-1500}

# build [CXXFLAGS LDFLAGS]: the addon, then the test addon, with those flags.
build() {
  rm -rf build
  CXXFLAGS=${1:-} LDFLAGS=${2:-} npx node-gyp rebuild >/tmp/sdact-build.log 2>&1 &&
    CXXFLAGS=${1:-} LDFLAGS=${2:-} npm run build:test-addon >>/tmp/sdact-build.log 2>&1 ||
    { cat /tmp/sdact-build.log; exit 1; }
}

echo "== ASan + UBSan build"
build "-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g" "-fsanitize=address,undefined"
PRELOAD="$(g++ -print-file-name=libasan.so) $(g++ -print-file-name=libubsan.so)"
REPORTS=$(mktemp -d)
trap 'rm -rf "$REPORTS"' EXIT
# Node itself is not leak-clean at exit, so LeakSanitizer is off here (valgrind
# below checks leaks); any ASan/UBSan error aborts.
# The quarantine (freed memory held back to catch use after free) is cut from
# 256 MB to 16 MB so the leak suites' RSS bound measures the addon, not ASan.
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:quarantine_size_mb=16:log_path=$REPORTS/asan"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$REPORTS/ubsan"
# How much slower the instrumented addon and the preloaded runtimes make a
# child: waits and timeouts are multiplied by it, assertions are not.
export SD_ACTIVATE_TIME_SCALE=${SD_ACTIVATE_TIME_SCALE:-4}
export SD_ACTIVATE_SANITIZER_PRELOAD="$PRELOAD"
suites=(test/*.test.js)
echo "== every suite under sanitizers (${#suites[@]} files, time scale $SD_ACTIVATE_TIME_SCALE)"
started=$SECONDS
LD_PRELOAD="$PRELOAD" SD_ACTIVATE_E2E=0 node scripts/test.js "${suites[@]}"
echo "suites under sanitizers: $((SECONDS - started)) s"
LD_PRELOAD="$PRELOAD" node scripts/leak-check.js 3000
if ls "$REPORTS"/* >/dev/null 2>&1; then
  # Reports from processes that are not ours (sh, python3) would show here too.
  if grep -l "sd_activate\|native/" "$REPORTS"/* >/dev/null 2>&1; then
    cat "$REPORTS"/*; echo "sanitizer reports in the native layer"; exit 1
  fi
  echo "(sanitizer reports from other processes ignored:)"; head -5 "$REPORTS"/* || true
fi
echo "sanitizers: clean"

echo "== valgrind leak check ($ROUNDS rounds of every primitive)"
build
# --error-exitcode: any invalid read/write or definite leak fails the leg.
valgrind --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite --error-exitcode=97 \
  --num-callers=40 --log-file=/tmp/sdact-valgrind.log node scripts/leak-check.js "$ROUNDS" ||
  { grep -A40 "definitely lost in\|Invalid \(read\|write\)" /tmp/sdact-valgrind.log | head -80 || true; echo "valgrind: errors (see above)"; exit 1; }
grep -A3 "LEAK SUMMARY" /tmp/sdact-valgrind.log
echo "valgrind: no memory error, no definite leak"
