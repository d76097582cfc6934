#!/bin/bash
# SPDX-License-Identifier: MIT
# The real-manager end-to-end suite: boots a real `systemd --user` manager in
# private namespaces (see with-manager.sh / manager.sh), installs the example
# .socket/.service units and checks what systemd and the apps do (suite.js).
#
#   bash test/e2e/run.sh                 run it if this machine can, else skip (exit 0)
#   SD_ACTIVATE_E2E=0 bash test/e2e/run.sh   skip
#   SD_ACTIVATE_E2E=1 bash test/e2e/run.sh   must run: a missing prerequisite is a failure
#   SD_E2E_ONLY=watchdog bash test/e2e/run.sh   only the groups whose name matches (plus
#                                               the manager group, which sets the backend up)
#   SD_E2E_TIMEOUT=300                   hard limit for one backend's run, seconds
#   SD_E2E_BACKENDS=builtin              backends to run the apps on (default: each that loads)
#   SD_E2E_RESTARTS=20 SD_E2E_RATE=500   the restart-under-load figures
#   SD_ACTIVATE_FRAMEWORKS=0             skip the real frameworks (run with the first backend
#                                        when test/frameworks is set up; 1: must run)
#
# Needs: root, unshare (pid/mount/net namespaces), a cgroup2 hierarchy,
# /lib/systemd/systemd and systemd-journald, systemctl, journalctl, ip, ss, node.
# Exit: 0 passed or skipped (with the reason printed), 1 a check failed,
# 124 the run hit the time limit.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
mode=${SD_ACTIVATE_E2E:-auto}

skip() {
  if [ "$mode" = 1 ]; then
    echo "not ok - real-manager e2e cannot run (SD_ACTIVATE_E2E=1): $*" >&2
    exit 1
  fi
  echo "# SKIP real-manager e2e: $*"
  exit 0
}

[ "$mode" = 0 ] && { echo "# SKIP real-manager e2e: SD_ACTIVATE_E2E=0"; exit 0; }
[ "$(uname -s)" = Linux ] || skip "not Linux"
[ "$(id -u)" = 0 ] || skip "not root (the suite boots systemd in private namespaces; run as root)"
for cmd in unshare timeout ip ss systemctl journalctl mount; do
  command -v "$cmd" >/dev/null 2>&1 || skip "$cmd not found"
done
[ -x /lib/systemd/systemd ] || skip "systemd binary missing (/lib/systemd/systemd)"
[ -x /lib/systemd/systemd-journald ] || skip "systemd-journald missing (/lib/systemd/systemd-journald)"
[ -x /usr/bin/node ] || skip "/usr/bin/node missing (the example units name it)"
cg2=""
for c in /sys/fs/cgroup /sys/fs/cgroup/unified; do
  [ "$(stat -f -c %T "$c" 2>/dev/null)" = cgroup2fs ] && { cg2=$c; break; }
done
[ -n "$cg2" ] || skip "no cgroup2 hierarchy (looked at /sys/fs/cgroup and /sys/fs/cgroup/unified)"
[ -w "$cg2" ] || skip "cgroup2 hierarchy $cg2 not writable"
err=$(unshare --pid --fork --mount --net --uts --ipc --mount-proc --propagation private true 2>&1) \
  || skip "unshare unavailable: ${err:-unknown error}"
[ -f "$root/dist/index.js" ] || skip "dist/ not built (run npx tsc -p . or npm test)"
err=$(cd "$root" && /usr/bin/node -e "require('./dist')" 2>&1) || skip "sd-activate does not load: $err"

ver=$(systemctl --version | sed -n '1s/^systemd \([0-9]*\).*/\1/p')
# The apps run once per backend the addon offers (as the unit suites do):
# SD_ACTIVATE_BACKEND is put into the manager's environment for every unit.
backends=${SD_E2E_BACKENDS:-}
if [ -z "$backends" ]; then
  for b in libsystemd builtin; do
    got=$(cd "$root" && SD_ACTIVATE_BACKEND=$b /usr/bin/node -p "require('./dist').backend" 2>/dev/null)
    [ "$got" = "$b" ] && backends="$backends $b"
  done
fi
backends=$(echo $backends | tr ',' ' ')
[ -n "$backends" ] || skip "no sd-activate backend loads"
echo "# real-manager e2e: systemd ${ver:-?}, cgroup2 at $cg2, node $(/usr/bin/node --version), backends: $backends"
start=$(date +%s)
rc=0
# The real frameworks (test/frameworks, when set up) run with the first backend only.
frameworks=${SD_ACTIVATE_FRAMEWORKS:-auto}
for b in $backends; do
  echo "# backend: $b"
  timeout_s=${SD_E2E_TIMEOUT:-300}
  [ "$frameworks" != 0 ] && [ -f "$root/test/frameworks/.status.json" ] && timeout_s=${SD_E2E_TIMEOUT:-900}
  SD_E2E_TIMEOUT=$timeout_s SD_E2E_FRAMEWORKS=$frameworks SD_ACTIVATE_BACKEND=$b bash "$here/with-manager.sh" /usr/bin/node "$here/suite.js" "$@"
  r=$?
  frameworks=0
  if [ "$r" = 97 ]; then
    echo "# real-manager e2e: finished in $(( $(date +%s) - start ))s"
    skip "could not boot a systemd --user manager in namespaces (see the messages above)"
  fi
  [ "$r" = 0 ] || rc=$r
done
echo "# real-manager e2e: finished in $(( $(date +%s) - start ))s (exit $rc)"
exit "$rc"
