#!/bin/bash
# softsad as an administrator runs it:
#   - --version; an invalid policy is refused before anything touches the network (even
#     with UDP 500 taken and softsa0 in the way, the policy error is what is said);
#   - sd_notify (Type=notify) to a stand-in $NOTIFY_SOCKET: READY=1 with STATUS= only once
#     the TUN exists, WATCHDOG=1 at half of $WATCHDOG_USEC, RELOADING=1 and a STATUS= saying
#     whether a reload was taken, STOPPING=1;
#   - the journal (a stand-in /run/systemd/journal/socket in a private mount namespace),
#     picked by --log auto because $JOURNAL_STREAM names stderr: structured PEER, RULE,
#     OUTCOME fields and syslog priorities (notice for a silent peer and a soft association);
#   - syslog (a stand-in /dev/log): daemon facility, the identifier and PID;
#   - stderr lines with RFC 3339 timestamps, and --log-level.
#
#     A 10.89.0.1 (softsad) ---- bridge ---- C 10.89.0.3 (drops IKE: a silent peer)
# Namespaces ssops<PID>-*.
set -u
[ "$(id -u)" = 0 ] || exit 77
SOFTSAD=$1
SOFTSA=$2
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/topology.sh"
PY=/usr/bin/python3
tmp=$(mktemp -d /tmp/ssops.XXXXXX)
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
die() { echo "FAIL: $*"; exit 1; }
trap 'topo_down; rm -rf "$tmp"' EXIT
topo_up ssops$$ a c || die "topo_up"
topo_silent_ike c
echo "ssops-test-psk-0123456789abcdef" >"$tmp/psk"
chmod 600 "$tmp/psk"
cat >"$tmp/pol.yaml" <<YAML
name: ops
psk_file: $tmp/psk
filter_lists:
  lan: [{ dst: 10.89.0.0/24 }]
filter_actions:
  request: { action: negotiate, fallback_to_clear: true }
rules:
  - { name: lan, filter_list: lan, filter_action: request }
YAML
# wait_for FILE PATTERN [TENTHS]: until grep -E finds PATTERN in FILE.
wait_for() {
	for _ in $(seq "${3:-100}"); do grep -Eq "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
	return 1
}

# --- --version, and the policy before the network ------------------------------------------
[ "$("$SOFTSAD" --version)" = "softsad 0.1.0" ] || fail "softsad --version: $("$SOFTSAD" --version 2>&1)"
ip -n $TOPO_PREFIX-a link add softsa0 type bridge
ip netns exec $TOPO_PREFIX-a $PY -c 'import socket,time; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(("0.0.0.0",500)); time.sleep(20)' &
holder=$!
topo_track $holder
sleep 0.3
printf 'name: bad\npsk_file: psk\nfilter_lists: 12\n' >"$tmp/bad.yaml"
out=$(topo_exec a timeout 10 "$SOFTSAD" -c "$tmp/bad.yaml" --control "$tmp/c0" 2>&1); rc=$?
[ $rc = 1 ] || fail "invalid policy: exit $rc"
echo "$out" | grep -q "^softsad: $tmp/bad.yaml:3:" || fail "invalid policy with port and TUN taken said: $out"
kill $holder; wait $holder 2>/dev/null
ip -n $TOPO_PREFIX-a link del softsa0
topo_exec a nft list table inet softsa >/dev/null 2>&1 && fail "an invalid policy left the nftables table"

# --- sd_notify and the watchdog -------------------------------------------------------------
$PY "$HERE/sd_listen.py" "$tmp/notify" "$tmp/notify.log" &
topo_track $!
wait_for "$tmp/notify.log" listening || die "notify listener did not start"
NOTIFY_SOCKET=$tmp/notify WATCHDOG_USEC=2000000 ip netns exec $TOPO_PREFIX-a \
	"$SOFTSAD" -c "$tmp/pol.yaml" --control "$tmp/ctl" --log stderr 2>"$tmp/d1.log" &
pid=$!
topo_track $pid
wait_for "$tmp/notify.log" 'READY=1' || die "no READY=1; log: $(tail -5 "$tmp/d1.log")"
# READY came after the datapath: the TUN and the table are there, the control socket answers.
topo_exec a ip link show softsa0 >/dev/null 2>&1 || fail "READY=1 before the TUN device"
grep -q 'STATUS=policy "ops" in force; IKE on UDP 500 and 4500; TUN softsa0' "$tmp/notify.log" \
	|| fail "READY without the status line: $(cat "$tmp/notify.log")"
wait_for "$tmp/notify.log" 'WATCHDOG=1' 40 || fail "no WATCHDOG=1 within 4 s of a 2 s watchdog"
sleep 2.5
kicks=$(grep -c '^WATCHDOG=1' "$tmp/notify.log")
[ "$kicks" -ge 3 ] || fail "watchdog kicked $kicks times in ~3.5 s (every 1 s expected)"
# A reload that is refused, then one that is taken: each says so.
cp "$tmp/pol.yaml" "$tmp/good.yaml"
cp "$tmp/bad.yaml" "$tmp/pol.yaml"
out=$(SOFTSA_CONTROL=$tmp/ctl "$SOFTSA" reload 2>&1); rc=$?
[ $rc = 1 ] || fail "softsa reload of a bad policy: exit $rc ($out)"
wait_for "$tmp/notify.log" 'STATUS=reload refused, policy "ops" stays in force: .*bad|pol.yaml:3:' \
	|| fail "no refused-reload status: $(tail -8 "$tmp/notify.log")"
grep -q '^RELOADING=1' "$tmp/notify.log" || fail "no RELOADING=1"
cp "$tmp/good.yaml" "$tmp/pol.yaml"
sed -i 's/^name: ops/name: ops2/' "$tmp/pol.yaml"
kill -HUP $pid
wait_for "$tmp/notify.log" 'STATUS=policy "ops2" in force' || fail "SIGHUP reload: no status: $(tail -8 "$tmp/notify.log")"
kill -TERM $pid
wait $pid; rc=$?
[ $rc = 0 ] || fail "SIGTERM: exit $rc"
grep -q '^STOPPING=1' "$tmp/notify.log" || fail "no STOPPING=1"
# stderr: RFC 3339 UTC timestamps and a level on every line.
bad=$(grep -Evc '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z (error|warning|notice|info|debug): ' "$tmp/d1.log")
[ "$bad" = 0 ] || fail "$bad stderr lines without an RFC 3339 timestamp: $(head -3 "$tmp/d1.log")"
# --log-level warning: the routine lines are gone.
topo_exec a timeout 3 "$SOFTSAD" -c "$tmp/pol.yaml" --control "$tmp/ctl2" --log-level warning 2>"$tmp/d2.log"
grep -q ' info: ' "$tmp/d2.log" && fail "--log-level warning still logs info: $(head -3 "$tmp/d2.log")"

# --- the journal, picked because stderr is the journal's -------------------------------------
sed -i 's/^name: ops2/name: ops/' "$tmp/pol.yaml"
: >"$tmp/d3.log"
unshare -m --propagation private bash -c '
	mount -t tmpfs tmpfs /run/systemd 2>/dev/null || { mkdir -p /run/systemd && mount -t tmpfs tmpfs /run/systemd; }
	mkdir /run/systemd/journal
	'"$PY"' "$1/sd_listen.py" /run/systemd/journal/socket "$2/journal.log" & echo $! >"$2/jl.pid"
	for _ in $(seq 50); do [ -S /run/systemd/journal/socket ] && break; sleep 0.1; done
	JOURNAL_STREAM=$(stat -c "%d:%i" "$2/d3.log") exec ip netns exec "$3" "$4" -c "$2/pol.yaml" \
		--control "$2/ctl3" 2>>"$2/d3.log"' sh "$HERE" "$tmp" "$TOPO_PREFIX-a" "$SOFTSAD" &
jpid=$!
topo_track $jpid
for _ in $(seq 50); do [ -S "$tmp/ctl3" ] && break; sleep 0.1; done
SOFTSA_CONTROL=$tmp/ctl3 "$SOFTSA" initiate "$(topo_ip c)" >/dev/null || fail "softsa initiate"
wait_for "$tmp/journal.log" 'soft association created' 150 || fail "no soft association in the journal"
kill -TERM $jpid; wait $jpid 2>/dev/null
kill "$(cat "$tmp/jl.pid")" 2>/dev/null
$PY - "$tmp/journal.log" <<'PY' || fail "journal fields"
import sys
entries = []
for block in open(sys.argv[1], "rb").read().split(b"\n--\n"):
    e = dict(l.split(b"=", 1) for l in block.split(b"\n") if b"=" in l)
    if e:
        entries.append({k.decode(): v.decode() for k, v in e.items()})
def find(word):
    for e in entries:
        if word in e.get("MESSAGE", ""):
            return e
    raise SystemExit("no journal entry says %r; entries: %r" % (word, [e.get("MESSAGE") for e in entries]))
assert all(e["SYSLOG_IDENTIFIER"] == "softsad" for e in entries)
started = find("negotiation started")
assert started["PEER"] == "10.89.0.3" and started["RULE"] == "lan" and started["PRIORITY"] == "6", started
silent = find(": peer-silent")
assert silent["PEER"] == "10.89.0.3" and silent["OUTCOME"] == "peer-silent" and silent["PRIORITY"] == "5", silent
soft = find("soft association created")
assert soft["RULE"] == "lan" and soft["PRIORITY"] == "5" and soft["OUTCOME"] == "peer-silent", soft
assert find("policy \"ops\" in force")["PRIORITY"] == "6"
# Nothing in the journal carries the key.
assert not any("ssops-test-psk" in v for e in entries for v in e.values())
PY
# The journal had it all: stderr (the journal's own stream) stays empty.
[ ! -s "$tmp/d3.log" ] || fail "with the journal, stderr still got: $(head -3 "$tmp/d3.log")"

# --- syslog: a stand-in /dev/log in a private mount namespace ---------------------------------
unshare -m --propagation private bash -c '
	mount -t tmpfs -o mode=755 tmpfs /dev
	mkdir -p /dev/net && mknod /dev/net/tun c 10 200 && mknod -m 666 /dev/null c 1 3 &&
		mknod -m 444 /dev/urandom c 1 9 && mknod -m 444 /dev/random c 1 8
	'"$PY"' "$1/sd_listen.py" /dev/log "$2/syslog.log" & l=$!
	for _ in $(seq 50); do [ -S /dev/log ] && break; sleep 0.1; done
	timeout 3 ip netns exec "$3" "$4" -c "$2/pol.yaml" --control "$2/ctl4" --log syslog 2>"$2/d4.log"
	kill $l' sh "$HERE" "$tmp" "$TOPO_PREFIX-a" "$SOFTSAD"
# <30> is daemon.info (facility 3 * 8 + 6); the identifier with the PID, then the line.
grep -Eq '^<30>.*softsad\[[0-9]+\]: softsad: policy "ops" in force' "$tmp/syslog.log" \
	|| fail "no daemon.info line in syslog: $(head -5 "$tmp/syslog.log")"
[ ! -s "$tmp/d4.log" ] || fail "with syslog, stderr still got: $(head -3 "$tmp/d4.log")"

[ $fails = 0 ] || exit 1
echo ok
