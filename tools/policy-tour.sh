#!/bin/sh
# A tour of the policy language: what softsa's policy decides for each row of the behaviour table in
# doc/agent.md, by running `softsa check` and `softsa explain` on examples/demo.yaml.  Rows that
# the running system decides (the agent and IKE: timing, replacement of soft associations)
# say so; they are tested by the simulator once it exists.
# usage: tools/policy-tour.sh [BUILD_DIR]   (`make demo` runs the real thing: tools/demo.sh)
set -eu
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SOFTSA="$BUILD/src/cli/softsa"
[ -x "$SOFTSA" ] || SOFTSA="$ROOT/$BUILD/src/cli/softsa"
POLICY="$ROOT/examples/demo.yaml"
ME=10.0.0.1

row() { printf '\n=== Row %s: %s\n' "$1" "$2"; }
run() { printf '$ softsa %s\n' "$*" | sed "s|$ROOT/||g"; "$SOFTSA" "$@"; }

printf '=== The policy (examples/demo.yaml), in effective order\n'
run check "$POLICY"

row 1 "A sends to C, which does not speak IKE (fallback allowed for 192.0.2.0/24, not for 198.51.100.0/24)"
run explain "$POLICY" $ME 192.0.2.7 tcp 40000 80
run explain "$POLICY" $ME 198.51.100.7 tcp 40000 80

row 2 "C sends clear traffic to A; A's rule accepts unsecured communication"
run explain --in "$POLICY" 192.0.2.7 $ME tcp 80 40000

row 3 "C sends clear traffic to A; A's rule does not accept unsecured communication"
run explain --in "$POLICY" 198.51.100.7 $ME tcp 80 40000

row 4 "A and B both speak IKE: ESP, no soft association"
run explain "$POLICY" $ME 192.0.2.8 udp 5000 53 | grep -E "^[$] softsa|^packet|^match|IPsec-aware and agrees"

row 5 "the peer answers IKE but the negotiation fails: no soft association, whatever the policy"
run explain "$POLICY" $ME 192.0.2.8 | grep -E "^[$] softsa|^packet|^match|negotiation fails"

row 6 "a soft association idle longer than its idle lifetime expires"
run explain --json "$POLICY" $ME 192.0.2.7 | grep -E '^[$] softsa|"soft_idle_lifetime"|"rule"'
printf '(the idle timer itself runs in the agent, with the simulator clock in tests)\n'

row 7 "a soft-associated peer starts IKE itself: secured at once, clear packets dropped from then on"
run explain --in "$POLICY" 192.0.2.7 $ME | grep -E "^[$] softsa|once secured"
printf '(replacing the soft association is the agent'"'"'s job; policy only says clear inbound is accepted until then)\n'

row 8 "policy has no fallback: not one clear packet, before, during or after negotiation"
run explain "$POLICY" $ME 198.51.100.7 | grep -E "^[$] softsa|^match|held while|blocked"
run explain --in "$POLICY" 198.51.100.7 $ME | grep -E "^[$] softsa|Unsecured inbound"

printf '\n=== Beyond the seed: discovery (203.0.113.0/24) and the built-in policies\n'
run explain "$POLICY" $ME 203.0.113.9 tcp 40000 443 | grep -E "^[$] softsa|^match|discovery"
for b in client server secure-server; do
	run explain --builtin $b --psk-file "$ROOT/examples/example.psk" $ME 192.0.2.7 tcp 40000 80 |
		grep -E "^[$] softsa|^match|not IPsec-aware|Unsecured inbound|No rule matches"
done
