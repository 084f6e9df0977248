#!/bin/bash
# Malformed, huge, half, slow and too many control clients against a real softsad in a
# namespace (tests/netns/ctl_abuse.py): every one gets its error or is disconnected, the
# others are served throughout, and afterwards softsad is alive and still secures traffic.
# (tests/unit/daemon/test_control.c covers the server in-process; this is the real daemon.)
# usage: test_ctl_abuse.sh SOFTSAD
. "$(dirname "$0")/e2e_lib.sh" "$1"
topo_up ssops-abuse a b || fail "topology"
sad_start a --builtin server --psk-file "$PSK"
sad_start b --builtin server --psk-file "$PSK"
tcp_transfer a b 100000
python3 "$HERE/ctl_abuse.py" "$W/a.ctl" || fail "control abuse"
kill -0 "$SAD_PID_a" || fail "softsad died"
tcp_transfer a b 100000 5002
st=$(ctl a stats)
[ "$(jget "$st" 'r["result"]["control"]["errors"] >= 15')" = True ] || fail "control errors not counted: $st"
ok "softsad alive, A -> B still secured, $(jget "$st" 'r["result"]["control"]["errors"]') control errors counted"
sad_stop a
echo PASS
