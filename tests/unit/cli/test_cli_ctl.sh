#!/bin/bash
# The control subcommands of softsa against fake_softsad (the real control server answering
# with canned replies): human and --json output of every command, the requests they send,
# --prometheus parsed back, monitor (view, events, Ctrl-C, the daemon going away), and the
# error paths: no daemon, permission denied, an error reply, bad usage.  The exact text is
# checked against replies.json (fixed values); then every command runs against the example
# replies of doc/control.md, whose --json output must be the documented result.
# usage: test_cli_ctl.sh SOFTSA FAKE_SOFTSAD DOC_CONTROL_MD
set -u
SOFTSA=$(readlink -f "$1")
FAKE=$(readlink -f "$2")
DOC=$3
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d /tmp/ssops-cli.XXXXXX)
chmod 755 "$T"
FAKE_PID=
cleanup() {
	[ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null && wait "$FAKE_PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect RC ARGS...: runs softsa ARGS; stdout in $T/out, stderr in $T/err.
expect() {
	local want=$1
	shift
	CMD="softsa $*"
	"$SOFTSA" "$@" >"$T/out" 2>"$T/err"
	local rc=$?
	[ "$rc" -eq "$want" ] || fail "'$CMD' exited $rc, expected $want ($(head -c 300 "$T/err"))"
}
has() { grep -qF -- "$2" "$T/$1" || fail "$1 of '$CMD' lacks: $2"; }
hasnt() { ! grep -qF -- "$2" "$T/$1" || fail "$1 of '$CMD' has: $2"; }
# json EXPR: a Python expression over the parsed stdout `j` that must hold.
json() {
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' \
		"$T/out" "$1" || fail "json of '$CMD': $1"
}
# last_request EXPR: over the last request the fake received, `r`.
last_request() {
	python3 -c 'import json,sys; r=json.loads(open(sys.argv[1]).read().splitlines()[-1]); sys.exit(0 if eval(sys.argv[2]) else 1)' \
		"$T/requests.log" "$1" || fail "request of '$CMD': $1 ($(tail -1 "$T/requests.log"))"
}

fake_start() {
	rm -f "$T/ctl"
	"$FAKE" "$T/ctl" "$T/replies.json" "$T/requests.log" "$@" 2>"$T/fake.err" &
	FAKE_PID=$!
	for _ in $(seq 100); do [ -S "$T/ctl" ] && return 0; sleep 0.02; done
	echo "FAIL: fake_softsad did not start: $(cat "$T/fake.err")"
	exit 1
}
fake_stop() {
	kill "$FAKE_PID"
	wait "$FAKE_PID" || fail "fake_softsad exited $?"
	FAKE_PID=
}

cp "$HERE/replies.json" "$T/replies.json"

# --- no daemon ------------------------------------------------------------------------
for c in status sas soft peers stats reload flush-soft monitor "monitor --events" "initiate 10.89.0.2" \
	"terminate 10.89.0.2"; do
	# shellcheck disable=SC2086
	expect 1 $c --control "$T/nothing"
	has err "softsad is not running (nothing answers on $T/nothing)"
done
expect 1 explain --live --control "$T/nothing" 10.89.0.1 10.89.0.2
has err "softsad is not running (nothing answers on $T/nothing)"
SOFTSA_CONTROL="$T/nothing-env" expect 1 status
has err "nothing answers on $T/nothing-env"
SOFTSA_CONTROL="$T/nothing-env" expect 1 explain --live 10.89.0.1 10.89.0.2
has err "nothing answers on $T/nothing-env"
expect 1 stats --prometheus --control "$T/nothing"
has out "softsa_up 0"
expect 1 status --json --control "$T/nothing"
json 'j["error"]["code"] == "no-answer" and "not running" in j["error"]["message"]'

fake_start
export SOFTSA_CONTROL="$T/ctl"

# --- usage ----------------------------------------------------------------------------
expect 0 --help
for c in status sas soft peers stats reload initiate terminate flush-soft monitor; do has out "  $c "; done
expect 0 monitor --help; has out "--events"; has out "usage: softsa monitor"
expect 0 stats --help; has out "--prometheus"
expect 2 status extra
expect 2 initiate
expect 2 initiate not-an-address; has err "not an IP address"
expect 2 stats --json --prometheus
expect 2 sas --prometheus
expect 2 monitor --interval 0
expect 2 explain --live --builtin server 10.89.0.1 10.89.0.2
expect 2 explain --control /x examples.yaml 10.89.0.1 10.89.0.2

# --- every command, human and --json -----------------------------------------------------
expect 0 status
has out "softsad 0.1.0, pid 4242"; has out "IKE on UDP 500, NAT-T on UDP 4500"; has out "policy: server (2 rules)"
has out "associations: 1 (1 negotiating)"
expect 0 status --json
json 'j["pid"] == 4242 and j["ike_ports"]["natt"] == 4500'
expect 0 status --control "$T/ctl" --json
json 'j["version"] == "0.1.0"'
# Global options before the command.
expect 0 --json status
json 'j["pid"] == 4242'
expect 0 --control "$T/ctl" --json status
json 'j["version"] == "0.1.0"'
expect 0 --control="$T/ctl" status
has out "softsad 0.1.0, pid 4242"
expect 2 --json
has err "needs a command after it"

expect 0 sas
has out "IKE SA 3: 10.89.0.1 <-> 10.89.0.2, established, initiator"
has out "aes128gcm16-prfsha256-ecp256"
has out "CHILD SA aes128gcm16, transport, age 12s, lifetime 1h00m"
has out "in  SPI c1f2a3b4: 10 packets, 8.2 KiB"
has out "out SPI 0badcafe: 12 packets, 9.6 KiB"
has out "traffic: 10.89.0.1/32 === 10.89.0.2/32"
expect 0 sas --json
json 'j["ike_sas"][0]["children"][0]["spi_out"] == "0badcafe"'

expect 0 soft
has out "LOCAL      REMOTE     RULE         WHY"
has out "10.89.0.1  10.89.0.3  all-traffic  peer-unreachable  40s  40s   4m20s       5m00s          6        504 B"
expect 0 soft --json
json 'j["soft"][0]["expires_in"] == 260'

expect 0 peers
has out "STATE"; has out "10.89.0.4  negotiating  2"
expect 0 peers --json
json 'j["peers"][0]["held"] == 3 and j["peers"][0]["last_outcome"] is None'

expect 0 stats
has out "negotiations:"; has out "peer silent"; has out "  dropped:"; has out "clear from secure"
grep -qE "^  started +4$" "$T/out" || fail "stats: negotiations started 4"
expect 0 stats --json
json 'j["esp"]["errors"]["replay"] == 0 and j["soft"]["now"] == 2'

expect 0 explain --live 10.89.0.1 10.89.0.3 tcp 40000 22
has out "packet: outbound 10.89.0.1 -> 10.89.0.3 tcp port 40000 -> 22"
has out "policy: server (as softsad runs it now)"
has out "match: rule 'all-ip', filter 1 of list 'all-ip' (line 9)"
has out "action: negotiate 'request-security'"
has out "fall back to clear (soft association) when the peer never answers: yes, idle lifetime 300 s"
has out "association now with 10.89.0.3: soft"
last_request 'r == {"cmd":"explain","dir":"out","dport":22,"dst":"10.89.0.3","proto":"tcp","sport":40000,"src":"10.89.0.1","v":1}'
expect 0 explain --live --in --json 10.89.0.3 10.89.0.1
json 'j["matched"] is True and j["association"] == "soft" and j["action"]["fallback_to_clear"] is True'
last_request 'r["dir"] == "in" and "proto" not in r and "sport" not in r'
expect 2 explain --live 10.89.0.1 fd89::3
# A destination port alone goes as dport only (softsad takes an ephemeral source port).
expect 0 explain --live 10.89.0.1 10.89.0.3 tcp 22
has out "packet: outbound 10.89.0.1 -> 10.89.0.3 tcp port 22"
last_request 'r["dport"] == 22 and "sport" not in r'

expect 0 reload
has out "policy reloaded: corp (3 rules)"
expect 0 reload --json
json 'j == {"policy": "corp", "rules": 3}'

expect 0 initiate 10.89.0.2
has out "negotiation started"
last_request 'r["cmd"] == "initiate" and r["peer"] == "10.89.0.2"'
expect 0 initiate --json fd89::2
json 'j == {"started": True}'
last_request 'r["peer"] == "fd89::2"'
expect 0 terminate 10.89.0.2
has out "1 IKE SA with 10.89.0.2 deleted"
last_request 'r["cmd"] == "terminate" and r["peer"] == "10.89.0.2"'
expect 0 terminate --json 10.89.0.2
json 'j["terminated"] == 1 and j["gone"] is True and j["waiting"] == []'
expect 0 flush-soft
has out "2 soft associations removed"
expect 0 flush-soft --json
json 'j == {"flushed": 2}'

# --- --prometheus, parsed back -----------------------------------------------------------
expect 0 stats --prometheus
python3 "$HERE/prom_check.py" "$T/out" \
	'softsa_up=1' 'softsa_negotiations_total{outcome="peer-silent"}=1' \
	'softsa_negotiations_total{outcome="secured"}=1' 'softsa_negotiations_started_total=4' \
	'softsa_soft_associations=2' 'softsa_esp_packets_total{direction="out"}=12' \
	'softsa_esp_errors_total{kind="replay"}=0' 'softsa_packets_dropped_total{reason="clear-from-secure"}=0' \
	'softsa_ike_datagrams_total{direction="in"}=12' 'softsa_control_requests_total=3' \
	'softsa_info{version="0.1.0"}=1' || fail "--prometheus output"

# --- monitor -----------------------------------------------------------------------------
expect 0 monitor --count 2 --interval 0.1
has out "softsa monitor"; has out "Peers"; has out "Soft associations"; has out "Security associations"
has out "negotiations: 4 started, 1 secured, 1 peer-silent, 1 peer-unreachable, 1 peer-refused"
has out "soft associations: 2 now, 2 created, 0 expired, 0 upgraded"
has out "ESP: 12 packets out, 10 in, 0 errors"
[ "$(grep -c "^softsa monitor" "$T/out")" = 2 ] || fail "monitor --count 2 printed $(grep -c "^softsa monitor" "$T/out") views"
hasnt out $'\033[2J'
# On a terminal: the alternate screen, cleared for each view, given back at the end.
if command -v script >/dev/null; then
	CMD="monitor on a terminal"
	script -qec "'$SOFTSA' monitor --count 2 --interval 0.1" /dev/null > "$T/out" 2>&1 || fail "monitor on a terminal: $(cat "$T/out")"
	python3 -c 'import sys
b = open(sys.argv[1], "rb").read()
assert b.startswith(b"\033[?1049h"), b[:40]
assert b.count(b"\033[H\033[2J") == 2, b.count(b"\033[H\033[2J")
assert b.rstrip().endswith(b"\033[?1049l"), b[-40:]' "$T/out" || fail "monitor's screen handling on a terminal"
fi
# 80x24: no line wraps, the header stays on top and the counters at the bottom.
CMD="monitor 80x24"
COLUMNS=80 LINES=24 "$SOFTSA" --control "$T/ctl" monitor --count 1 >"$T/out" 2>"$T/err" || fail "monitor 80x24: $(cat "$T/err")"
awk 'length($0) > 79 { bad = 1 } END { exit bad }' "$T/out" || fail "monitor 80x24: a line wider than 79 columns"
[ "$(wc -l < "$T/out")" -le 23 ] || fail "monitor 80x24: $(wc -l < "$T/out") lines"
head -1 "$T/out" | grep -q "^softsa monitor " || fail "monitor 80x24: header not first"
has out "ESP: 12 packets out, 10 in, 0 errors"; has out "REMOTE     STATE"
COLUMNS=80 LINES=14 "$SOFTSA" --control "$T/ctl" monitor --count 1 >"$T/out" 2>"$T/err"
[ "$(wc -l < "$T/out")" -le 13 ] || fail "monitor 80x14: $(wc -l < "$T/out") lines"
has out "more lines: softsa sas lists them all"; has out "ESP: 12 packets out"
if command -v script >/dev/null; then
	script -qec "stty cols 80 rows 24; '$SOFTSA' --control '$T/ctl' monitor --count 1" /dev/null > "$T/out" 2>&1
	python3 -c 'import re, sys
t = open(sys.argv[1], "rb").read().decode()
t = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", t).replace("\r", "")
lines = [l for l in t.split("\n") if l]
assert lines and lines[0].startswith("softsa monitor "), lines[:1]
assert len(lines) <= 23 and max(map(len, lines)) <= 79, (len(lines), max(map(len, lines)))' "$T/out" \
		|| fail "monitor on an 80x24 terminal"
fi
expect 0 monitor --count 2 --interval 0.1 --json
[ "$(wc -l < "$T/out")" = 2 ] || fail "monitor --json: one line per refresh"
python3 -c 'import json,sys
for l in open(sys.argv[1]):
    j = json.loads(l); assert set(j) == {"status", "peers", "soft", "sas", "stats"}, j.keys()' "$T/out" || fail "monitor --json lines"

expect 0 monitor --events --count 3
has out "subscribed to $T/ctl"
has out "soft-created        10.89.0.1 <-> 10.89.0.3 rule=all-ip expires_in=300"
# Each event with its time of day.
grep -Eq '^[0-2][0-9]:[0-5][0-9]:[0-5][0-9]\.[0-9]{3} soft-created ' "$T/out" || fail "monitor --events: no time of day: $(head -3 "$T/out")"
has out "negotiation-ended   10.89.0.1 <-> 10.89.0.4 outcome=peer-silent reason=no answer to any attempt"
has out "policy-reloaded     policy=corp rules=3"
expect 0 monitor --events --json --count 2
python3 -c 'import json,sys
for l in open(sys.argv[1]):
    j = json.loads(l); assert j["v"] == 1 and "event" in j' "$T/out" || fail "monitor --events --json lines"

# Ctrl-C ends both forms with status 0.
for form in "" "--events"; do
	# shellcheck disable=SC2086
	"$SOFTSA" monitor $form --interval 0.1 >"$T/mon.out" 2>&1 &
	m=$!
	sleep 0.4
	kill -INT $m
	wait $m
	rc=$?
	[ $rc = 0 ] || fail "monitor $form after SIGINT: exit $rc ($(tail -3 "$T/mon.out"))"
done

# The daemon going away: both forms stop with status 1 and say so.
"$SOFTSA" monitor --events >"$T/ev.out" 2>"$T/ev.err" &
ev=$!
"$SOFTSA" monitor --interval 0.1 >"$T/view.out" 2>"$T/view.err" &
view=$!
sleep 0.3
fake_stop
wait $ev; rc=$?
[ $rc = 1 ] || fail "monitor --events after the daemon stopped: exit $rc"
grep -q "softsad closed the connection" "$T/ev.err" || fail "monitor --events: $(cat "$T/ev.err")"
wait $view; rc=$?
[ $rc = 1 ] || fail "monitor after the daemon stopped: exit $rc"
# The view asks anew each refresh: the daemon is either gone before the next request or goes away
# while one is in flight; both are said plainly.
grep -Eq "softsad is not running|softsad closed the connection" "$T/view.err" ||
	fail "monitor view: $(cat "$T/view.err")"

# --- error replies -------------------------------------------------------------------------
fake_start --fail reload --fail initiate
expect 1 reload
has err "softsa reload: policy-invalid: /etc/softsa/softsa.yaml:12:9: unknown key 'fallback_to_cler'"
expect 1 reload --json
json 'j["error"]["code"] == "policy-invalid" and j["error"]["message"].startswith("/etc/softsa/softsa.yaml:12:9: ")'
expect 1 initiate 10.89.0.2
has err "softsa initiate: no-example"

# --- the examples of doc/control.md ---------------------------------------------------------
python3 "$HERE/ctl_examples.py" "$DOC" > "$T/replies.json" || { echo "FAIL: examples of $DOC"; exit 1; }
fake_stop
fake_start
for c in status sas soft peers stats reload "initiate 10.89.0.2" "terminate 10.89.0.2" flush-soft \
	"explain --live 10.89.0.1 10.89.0.3 tcp 40000 22"; do
	# shellcheck disable=SC2086
	expect 0 $c
	[ -s "$T/out" ] || fail "'$CMD' printed nothing"
	# shellcheck disable=SC2086
	set -- $c
	name=$1
	shift
	expect 0 "$name" --json "$@"
	python3 -c 'import json,sys
want = json.load(open(sys.argv[1]))[sys.argv[2]]["result"]
got = json.load(open(sys.argv[3]))
sys.exit(0 if got == want else 1)' "$T/replies.json" "$name" "$T/out" || fail "'$CMD' is not the documented result"
done
expect 0 stats --prometheus
python3 "$HERE/prom_check.py" "$T/out" 'softsa_up=1' >/dev/null || fail "--prometheus of the documented stats"
# The exported names are an interface: every series of the list is still there.
grep -v '^#' "$HERE/prometheus_series.txt" | while read -r series; do
	grep -qF -- "$series " "$T/out" || echo "$series"
done > "$T/missing"
[ -s "$T/missing" ] && fail "--prometheus lost series: $(tr '\n' ' ' < "$T/missing")"
expect 0 monitor --count 1
has out "Security associations"

# --- permission denied -----------------------------------------------------------------------
if [ "$(id -u)" = 0 ]; then
	if command -v setpriv >/dev/null && setpriv --reuid=65534 --regid=65534 --clear-groups "$SOFTSA" --version >/dev/null 2>&1; then
		CMD="status as nobody"
		setpriv --reuid=65534 --regid=65534 --clear-groups "$SOFTSA" status >"$T/out" 2>"$T/err"
		rc=$?
		[ $rc = 1 ] || fail "status as nobody: exit $rc"
		has err "$T/ctl: permission denied (the control socket is root's: run as root)"
		echo "ok: permission denied as nobody"
	else
		echo "note: softsa is not executable as nobody here; permission test skipped"
	fi
else
	chmod 000 "$T/ctl"
	expect 1 status
	has err "permission denied"
fi
fake_stop

[ $fails = 0 ] || { echo "$fails failure(s)"; exit 1; }
echo PASS
