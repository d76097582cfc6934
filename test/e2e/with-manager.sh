#!/bin/bash
# SPDX-License-Identifier: MIT
# with-manager.sh CMD ARGS... : run CMD inside private namespaces next to a
# real `systemd --user` manager (see manager.sh), then clean up whatever happens.
# Exit status: CMD's; 97 when the manager could not be booted; 124 on timeout.
set -u
here=$(cd "$(dirname "$0")" && pwd)
timeout_s=${SD_E2E_TIMEOUT:-300}

cgroot=""
for c in /sys/fs/cgroup /sys/fs/cgroup/unified; do
  if [ "$(stat -f -c %T "$c" 2>/dev/null)" = cgroup2fs ]; then cgroot=$c; break; fi
done
[ -n "$cgroot" ] || { echo "with-manager.sh: no cgroup2 hierarchy" >&2; exit 97; }
# Leftovers of runs killed without cleanup (their with-manager.sh pid is gone).
for old in "$cgroot"/sd-activate-e2e-*; do
  [ -d "$old" ] || continue
  kill -0 "${old##*-}" 2>/dev/null && continue
  [ -e "$old/cgroup.kill" ] && echo 1 > "$old/cgroup.kill" 2>/dev/null
  sleep 0.2
  find "$old" -depth -type d -exec rmdir {} + 2>/dev/null
done
cg="$cgroot/sd-activate-e2e-$$"
mkdir "$cg" || { echo "with-manager.sh: cannot create $cg" >&2; exit 97; }

cleanup() {
  [ -d "$cg" ] || return 0
  [ -e "$cg/cgroup.kill" ] && echo 1 > "$cg/cgroup.kill" 2>/dev/null
  for _ in $(seq 1 50); do
    # remove deepest directories first
    find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null
    [ -d "$cg" ] || break
    sleep 0.1
  done
  [ -d "$cg" ] && echo "with-manager.sh: could not remove $cg" >&2
}
trap cleanup EXIT
child=""
# Interrupted (Ctrl-C, or killed by a CI runner): stop the namespace now, then clean up.
trap '[ -n "$child" ] && kill -TERM "$child" 2>/dev/null; exit 130' INT TERM HUP

# In the background + wait, so a signal to this script is handled at once.
timeout --kill-after=10 "$timeout_s" bash -c '
  echo $$ > "$1/cgroup.procs" || exit 97
  shift
  exec unshare --pid --fork --kill-child=SIGKILL --mount --net --uts --ipc --mount-proc --propagation private "$@"
' with-manager "$cg" bash "$here/manager.sh" "$@" &
child=$!
wait "$child"
