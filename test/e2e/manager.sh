#!/bin/bash
# SPDX-License-Identifier: MIT
# Runs as PID 1 of a private pid/mount/net/uts/ipc namespace (started by
# with-manager.sh). Boots journald and a real `systemd --user` manager, then
# runs the given command with XDG_RUNTIME_DIR pointing at that manager.
# When this script exits, the kernel kills everything left in the namespace.
set -u
fail() { echo "manager.sh: $*" >&2; exit 97; }

mount -t cgroup2 none /sys/fs/cgroup || fail "cannot mount cgroup2 on /sys/fs/cgroup"
# The fresh /run and /tmp below would hide a checkout that lives under them
# (CI may clone into /tmp): hold it on /mnt and put it back afterwards.
REPO=$(cd "$(dirname "$0")/../.." && pwd)
case "$REPO/" in
  /tmp/*|/run/*) HOLD=/mnt; mount --bind "$REPO" "$HOLD" || fail "cannot hold $REPO on $HOLD" ;;
  *) HOLD= ;;
esac
mount -t tmpfs -o mode=755 tmpfs /run || fail "cannot mount tmpfs on /run"
mount -t tmpfs -o mode=1777 tmpfs /tmp || fail "cannot mount tmpfs on /tmp"
if [ -n "$HOLD" ]; then
  mkdir -p "$REPO" && mount --bind "$HOLD" "$REPO" || fail "cannot put $REPO back"
fi
mkdir -p /run/systemd/system /run/systemd/journald.conf.d /run/user/0
chmod 700 /run/user/0
ip link set lo up || fail "cannot bring up lo"
hostname sd-activate-e2e
# A stock /etc/hosts (localhost is 127.0.0.1 and ::1, as on a usual Debian
# install), so apps resolve 'localhost' the way they would on a server.
printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\tsd-activate-e2e\n' > /run/hosts
mount --bind /run/hosts /etc/hosts || fail "cannot bind-mount /etc/hosts"

cat > /run/systemd/journald.conf.d/e2e.conf <<'CONF'
[Journal]
Storage=volatile
ReadKMsg=no
ForwardToSyslog=no
ForwardToKMsg=no
ForwardToConsole=no
ForwardToWall=no
RateLimitIntervalSec=0
RateLimitBurst=0
CONF

/lib/systemd/systemd-journald >/run/journald.out 2>&1 &
for _ in $(seq 1 100); do [ -S /run/systemd/journal/socket ] && [ -S /run/systemd/journal/stdout ] && break; sleep 0.05; done
[ -S /run/systemd/journal/stdout ] || { cat /run/journald.out >&2; fail "journald did not start"; }

export XDG_RUNTIME_DIR=/run/user/0
export HOME=${HOME:-/root}
unset DBUS_SESSION_BUS_ADDRESS NOTIFY_SOCKET LISTEN_PID LISTEN_FDS LISTEN_FDNAMES WATCHDOG_USEC WATCHDOG_PID
/lib/systemd/systemd --user --log-target=journal >/run/manager.out 2>&1 &
echo $! > /run/manager.pid
for _ in $(seq 1 200); do [ -S /run/user/0/systemd/private ] && break; sleep 0.05; done
[ -S /run/user/0/systemd/private ] || { cat /run/manager.out >&2; journalctl --no-pager -n 30 >&2; fail "systemd --user did not start"; }

mkdir -p /run/user/0/systemd/user
"$@"
