#!/bin/bash
# softsa against real softsads: every control command, human and --json, checked against
# what the network did.
#
#        +----------- bridge br0 (netns ssops-cli<PID>-br) ------------+
#   A 10.89.0.1 softsad (server)   B 10.89.0.2 softsad (server)   C 10.89.0.3 no IKE
#
# usage: test_cli_live.sh SOFTSAD SOFTSA PROM_CHECK_PY
. "$(dirname "$0")/e2e_lib.sh" "$1"
SOFTSA=$(readlink -f "$2")
PROM_CHECK=$3
topo_up "ssops-cli$$" a b c || fail "topology"

# run RC ARGS...: softsa ARGS against A; stdout in $W/out, stderr in $W/err.
run() {
	local want=$1
	shift
	CMD="softsa $*"
	SOFTSA_CONTROL=$W/a.ctl "$SOFTSA" "$@" >"$W/out" 2>"$W/err"
	local rc=$?
	[ $rc = "$want" ] || fail "'$CMD' exited $rc, expected $want: $(head -c 400 "$W/err")"
}
has() { grep -qE -- "$2" "$W/$1" || fail "$1 of '$CMD' lacks /$2/: $(head -c 1500 "$W/$1")"; }
json() {
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' \
		"$W/out" "$1" || fail "json of '$CMD': $1: $(head -c 1500 "$W/out")"
}

sad_start a --builtin server --psk-file "$PSK"
sad_start b --builtin server --psk-file "$PSK"
# The event stream as softsa monitor --events --json sees it, for the whole test.
SOFTSA_CONTROL=$W/a.ctl "$SOFTSA" monitor --events --json >"$W/events" 2>"$W/events.err" &
MON=$!
topo_track $MON
wait_for 5 'test -s "$W/events" || grep -q . "$W/events.err"' || true

run 0 status
has out "^softsad [0-9.]+, pid $SAD_PID_a, up"
has out "^policy: server \(2 rules\)"
has out "^associations: 0$"

tcp_transfer a b 300000
tcp_transfer a c 100000 5002
ok "traffic A -> B (ESP) and A -> C (soft association)"

run 0 status
has out "^associations: 2 \(1 secured, 1 soft\)"
run 0 status --json
json "j['pid'] == $SAD_PID_a and j['ike_ports'] == {'ike': 500, 'natt': 4500} and j['policy'] == 'server'"
ok "status"

run 0 sas
has out "^IKE SA [0-9]+: 10.89.0.1 <-> 10.89.0.2, established, initiator"
has out "CHILD SA aes256gcm16, transport"
has out "out SPI [0-9a-f]{8}: [0-9]+ packets, [0-9.]+ KiB"
has out "traffic: 10.89.0.1/32 === 10.89.0.2/32"
run 0 sas --json
json "len(j['ike_sas']) == 1 and j['ike_sas'][0]['remote'] == '10.89.0.2' and j['ike_sas'][0]['children'][0]['packets_out'] > 100"
a_in=$(jget "$(cat "$W/out")" 'r["ike_sas"][0]["children"][0]["spi_in"]')
SOFTSA_CONTROL=$W/b.ctl "$SOFTSA" sas --json > "$W/b.sas" || fail "softsa sas on B"
b_out=$(jget "$(cat "$W/b.sas")" 'r["ike_sas"][0]["children"][0]["spi_out"]')
[ "$a_in" = "$b_out" ] || fail "A's inbound SPI $a_in is not B's outbound SPI $b_out"
ok "sas (A's inbound SPI $a_in is B's outbound)"

run 0 soft
has out "^LOCAL +REMOTE +RULE +WHY"
has out "^10.89.0.1 +10.89.0.3 +all-ip +peer-unreachable +[0-9]+s +[0-9]+s +4m[0-9]+s +5m00s"
run 0 soft --json
json "[s['remote'] for s in j['soft']] == ['10.89.0.3'] and j['soft'][0]['idle_lifetime'] == 300"
ok "soft"

run 0 peers
has out "^10.89.0.1 +10.89.0.2 +secured .*secured"
has out "^10.89.0.1 +10.89.0.3 +soft .*peer-unreachable"
run 0 peers --json
json "sorted((p['remote'], p['state']) for p in j['peers']) == [('10.89.0.2', 'secured'), ('10.89.0.3', 'soft')]"
ok "peers"

run 0 stats
has out "^negotiations:"
has out "^  secured +1$"
has out "^  peer unreachable +1$"
run 0 stats --json
json "j['negotiations']['secured'] == 1 and j['soft']['created'] == 1 and j['esp']['packets_out'] > 100"
run 0 stats --prometheus
python3 "$PROM_CHECK" "$W/out" 'softsa_up=1' 'softsa_negotiations_total{outcome="secured"}=1' \
	'softsa_negotiations_total{outcome="peer-unreachable"}=1' 'softsa_soft_associations=1' \
	'softsa_soft_associations_created_total=1' 'softsa_esp_errors_total{kind="replay"}=0' ||
	fail "stats --prometheus: $(head -40 "$W/out")"
ok "stats, --json and --prometheus"

run 0 explain --live 10.89.0.1 10.89.0.3 tcp 40000 22
has out "^match: rule 'all-ip', filter 1 of list 'all-ip'"
has out "^action: negotiate 'request-security'"
has out "soft association"
has out "^association now with 10.89.0.3: soft"
run 0 explain --live --json 10.89.0.1 10.89.0.2
json "j['association'] == 'secured' and j['rule'] == 'all-ip'"
run 0 explain --live --json 10.89.0.1 10.89.0.9 icmp
json "j['rule'] == 'all-icmp' and j['action']['action'] == 'permit' and 'association' not in j"
run 2 explain --live 10.89.0.1 10.89.0.2 tcp 1 70000
run 0 explain --live --json 10.89.0.1 10.89.0.3 tcp 22
json "j['packet']['sport'] == 49152 and j['packet']['dport'] == 22 and j['datapath'] == 'policy'"
run 0 explain --live --json 10.89.0.1 10.89.0.3 udp 500
json "j['datapath'] == 'ike' and not any('negotiates' in s for s in j['explanation'])"
ok "explain --live"

run 0 monitor --count 2 --interval 0.2
has out "^Peers"
has out "^10.89.0.1 +10.89.0.3 +soft"
has out "^IKE SA [0-9]+: 10.89.0.1 <-> 10.89.0.2"
has out "^negotiations: 2 started, 1 secured, 0 peer-silent, 1 peer-unreachable, 0 peer-refused"
has out "^soft associations: 1 now, 1 created"
[ "$(grep -c '^softsa monitor' "$W/out")" = 2 ] || fail "monitor --count 2"
run 0 monitor --count 1 --json
json "j['status']['pid'] == $SAD_PID_a and len(j['peers']['peers']) == 2"
ok "monitor"

run 0 initiate 10.89.0.2
has out "no negotiation started"
run 0 terminate 10.89.0.2
# The CLI waits for B to answer the DELETE: when it returns, the SA is gone.
has out "^1 IKE SA with 10.89.0.2: CHILD SAs deleted, waiting up to 31s"
has out "^deleted"
wait_for 1 'SOFTSA_CONTROL=$W/a.ctl "$SOFTSA" sas --json | python3 -c "import json,sys; sys.exit(len(json.load(sys.stdin)[\"ike_sas\"]))"' ||
	fail "an IKE SA with B is left after terminate"
run 0 initiate --json 10.89.0.2
json "j == {'started': True}"
wait_for 10 'SOFTSA_CONTROL=$W/a.ctl "$SOFTSA" peers --json | grep -q "\"secured\""' || fail "initiate did not secure A <-> B"
run 0 terminate --json 10.89.0.2
json "j['terminated'] == 1 and j['child_sas'] is False and len(j['waiting']) == 1 and 0 < j['waiting'][0]['wait_ms'] <= 31000"
run 2 initiate nonsense
ok "initiate, terminate"

run 0 flush-soft
has out "^1 soft association removed"
run 0 soft
has out "^no soft associations"
run 0 flush-soft --json
json "j == {'flushed': 0}"
ok "flush-soft"

run 0 reload
has out "^policy reloaded: server \(2 rules\)"
run 0 reload --json
json "j == {'policy': 'server', 'rules': 2}"
ok "reload"

# The event stream saw the story, in order.
python3 - "$W/events" <<'PY' || fail "events: $(cat "$W/events" "$W/events.err")"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
names = [e["event"] for e in ev]
def first(name, remote):
    return next(i for i, e in enumerate(ev) if e["event"] == name and e.get("remote") == remote)
assert first("negotiation-started", "10.89.0.2") < first("sa-up", "10.89.0.2"), names
assert first("negotiation-started", "10.89.0.3") < first("soft-created", "10.89.0.3"), names
assert "policy-reloaded" in names, names
assert all(isinstance(e["time"], (int, float)) for e in ev)
PY
ok "monitor --events --json followed the event stream"

# The daemon going away: the monitor ends with status 1 and says so; softsa says it is gone.
sad_stop a
wait $MON
rc=$?
[ $rc = 1 ] || fail "monitor --events exited $rc when softsad stopped"
grep -q "softsad closed the connection" "$W/events.err" || fail "monitor --events: $(cat "$W/events.err")"
run 1 status
has err "softsad is not running"
run 1 stats --prometheus
has out "^softsa_up 0$"
ok "softsad stopped: monitor ended (1), status says it is not running"
echo PASS
