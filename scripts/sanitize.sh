#!/usr/bin/env bash
# Sanitizer and leak leg (run by .ci/run; callable alone from the repo root):
#   1. the addon built with AddressSanitizer + UndefinedBehaviorSanitizer
#      (node-gyp, CXXFLAGS/LDFLAGS) runs the native and activation suites
#      with the sanitizer runtimes preloaded into node; any report fails
#   2. valgrind over scripts/leak-check.js (every primitive, thousands of
#      calls) on a plain build: no "definitely lost" block, no fd growth
# The build directory is rebuilt; run `npm run build:native` afterwards to
# get a normal addon back.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${SD_ACTIVATE_LEAK_ROUNDS:-1500}

echo "== ASan + UBSan build"
rm -rf build
CXXFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g" \
LDFLAGS="-fsanitize=address,undefined" \
  npx node-gyp rebuild >/tmp/sdact-asan-build.log 2>&1 || { cat /tmp/sdact-asan-build.log; exit 1; }
PRELOAD="$(g++ -print-file-name=libasan.so) $(g++ -print-file-name=libubsan.so)"
REPORTS=$(mktemp -d)
# Node itself is not leak-clean at exit, so LeakSanitizer is off here (valgrind
# below checks leaks in the native layer only); any ASan/UBSan error aborts.
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:log_path=$REPORTS/asan"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$REPORTS/ubsan"
suites=()
for f in test/native.test.js test/notify-native.test.js test/activation.test.js test/match.test.js test/sockets.test.js; do
  [ -f "$f" ] && suites+=("$f")
done
echo "== suites under sanitizers: ${suites[*]}"
LD_PRELOAD="$PRELOAD" SD_ACTIVATE_E2E=0 node scripts/test.js "${suites[@]}"
LD_PRELOAD="$PRELOAD" node scripts/leak-check.js 3000
if ls "$REPORTS"/* >/dev/null 2>&1; then
  # Reports from processes that are not ours (sh, python3) would show here too.
  if grep -l "sd_activate\|native/" "$REPORTS"/* >/dev/null 2>&1; then
    cat "$REPORTS"/*; echo "sanitizer reports in the native layer"; exit 1
  fi
  echo "(sanitizer reports from other processes ignored:)"; head -5 "$REPORTS"/* || true
fi
rm -rf "$REPORTS"
echo "sanitizers: clean"

echo "== valgrind leak check ($ROUNDS rounds of every primitive)"
rm -rf build
npx node-gyp rebuild >/tmp/sdact-build.log 2>&1 || { cat /tmp/sdact-build.log; exit 1; }
valgrind --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
  --num-callers=40 --log-file=/tmp/sdact-valgrind.log node scripts/leak-check.js "$ROUNDS"
grep -A3 "LEAK SUMMARY" /tmp/sdact-valgrind.log
# A definite leak whose stack passes through the addon is ours.
if awk '/definitely lost in/{b=1} b&&/sd_activate/{found=1} /^==[0-9]+== $/{b=0} END{exit !found}' /tmp/sdact-valgrind.log; then
  grep -A40 "definitely lost in" /tmp/sdact-valgrind.log; echo "valgrind: leak in the native layer"; exit 1
fi
echo "valgrind: no leak in the native layer"
