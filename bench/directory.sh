#!/bin/bash
# Directory policy source at scale (bench/README.md, row group "Directory"): N followers of one
# slapd, each with its own connection and RFC 4533 refreshAndPersist search (the same
# follower code softsad runs, src/directory/follow.c, in BUILD/tests/directory/dirprobe),
# and one real softsad; the time from `publish` returning to the change being held by the
# first, the median, the last follower, and by softsad (applied, in `status`).
#
#   bench/directory.sh BUILD SAMPLES [--quick]
#
# slapd runs in a namespace of its own ($BENCH_NS_PREFIX-dir, default ssb-<pid>-dir) on its
# loopback, with its own cn=config (tests/directory/slapd_lib.sh); StartTLS with the test CA,
# simple bind.  Stopped by PID, the namespace deleted.
set -u
BUILD=$(readlink -f "${1:?usage: directory.sh BUILD SAMPLES [--quick]}")
OUT=$2
QUICK=${3:-}
HERE=$(cd "$(dirname "$0")" && pwd)
S() { printf 'S\t%s\t%s\t%s\n' "$1" "$2" "$3" >>"$OUT"; }
N() { printf 'N\t%s\t%s\t%s\n' "$1" "$2" "$3" >>"$OUT"; }
ROWS="dir.fleet.first dir.fleet.median dir.fleet.last dir.softsad"
none() { for r in $ROWS; do N "$r" softsa "$1"; done; exit 0; }
PROBE=$BUILD/tests/directory/dirprobe
SOFTSAD=${SOFTSAD:-$BUILD/src/daemon/softsad}
SOFTSA=$BUILD/src/cli/softsa
[ "$(id -u)" = 0 ] || none "needs root"
command -v slapd >/dev/null || none "slapd not installed"
[ -x "$PROBE" ] || none "tests/directory/dirprobe not built"
. "$HERE/../tests/directory/slapd_lib.sh"
NS=${BENCH_NS_PREFIX:-ssb-$$}-dir
W=$(mktemp -d "/tmp/${BENCH_NS_PREFIX:-ssb-$$}-bench.dir.XXXXXX")
SAD=""
cleanup() {
	[ -n "$SAD" ] && kill "$SAD" 2>/dev/null && wait "$SAD" 2>/dev/null
	slapd_stop
	ip netns del "$NS" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
ip netns add "$NS" || none "cannot create a namespace"
ip -n "$NS" link set lo up
slapd_init "$W/slapd" "$HERE/../dist/softsa-schema.ldif" syncprov >"$W/init.log" 2>&1 || none "slapd_init failed"
slapd_start "$NS" >"$W/start.log" 2>&1 || none "slapd did not start"
S=$W/slapd
common="uri: ldap://127.0.0.1:$SLAPD_PORT
base_dn: $SLAPD_BASE
ca_file: $S/ca.pem
bind: simple"
printf '%s\nhost_dn: cn=h1,ou=servers,ou=hosts,%s\nbind_dn: cn=h1,ou=servers,ou=hosts,%s\npassword_file: %s\nretry_interval: 1\ncache_file: %s\n' \
	"$common" "$SLAPD_BASE" "$SLAPD_BASE" "$S/h1.pw" "$W/cache.yaml" > "$W/host.yaml"
slapd_admin_bootstrap "$W/admin.yaml"
printf 'name: web\ndescription: edition A\n' > "$W/a.yaml"
printf 'name: web\ndescription: edition B\n' > "$W/b.yaml"
ip netns exec "$NS" "$SOFTSA" publish --directory "$W/admin.yaml" "$W/a.yaml" >/dev/null || none "publish failed"

n=100
rounds=5
[ -n "$QUICK" ] && rounds=1
[ -n "${BENCH_SMOKE:-}" ] && n=10
echo "directory: $n followers of one slapd, $rounds publishes" >&2
if ip netns exec "$NS" nice -n 10 "$PROBE" fleet "$W/host.yaml" "$W/admin.yaml" $n \
	"cn=web,ou=policies,$SLAPD_BASE" "$W/b.yaml" "$W/a.yaml" $rounds >"$W/fleet.json" 2>"$W/fleet.err"; then
	python3 - "$W/fleet.json" "$OUT" <<'PY'
import json, sys
out = open(sys.argv[2], "a")
for line in open(sys.argv[1]):
    r = json.loads(line)
    for k in ("first", "median", "last"):
        out.write("S\tdir.fleet.%s\tsoftsa\t%.1f\n" % (k, r[k + "_ms"]))
PY
	[ $n != 100 ] && for r in dir.fleet.first dir.fleet.median dir.fleet.last; do N $r softsa "$n followers (smoke)"; done
else
	for r in dir.fleet.first dir.fleet.median dir.fleet.last; do N $r softsa "dirprobe fleet failed: $(tail -1 "$W/fleet.err")"; done
fi

# One real softsad in the same namespace (its TUN and nftables table stay in there).
if [ -x "$SOFTSAD" ]; then
	ip netns exec "$NS" "$SOFTSAD" --directory "$W/host.yaml" --control "$W/ctl" >"$W/softsad.log" 2>&1 &
	SAD=$!
	for _ in $(seq 100); do [ -S "$W/ctl" ] && break; sleep 0.05; done
	version() { # the version in force (the only integer "version" in status)
		"$SOFTSA" status --json --control "$W/ctl" 2>/dev/null | grep -o '"version": [0-9][0-9]*' | grep -o '[0-9]*$'
	}
	for r in $(seq $rounds); do
		f=$W/b.yaml
		[ $((r % 2)) = 0 ] && f=$W/a.yaml
		before=$(version)
		out=$(ip netns exec "$NS" "$SOFTSA" publish --directory "$W/admin.yaml" "$f") || break
		t0=$(date +%s%N)
		want=${out##* }
		while [ "$(version)" != "$want" ] && [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 20000 ]; do sleep 0.005; done
		t1=$(date +%s%N)
		if [ "$(version)" = "$want" ]; then
			S dir.softsad softsa "$(( (t1 - t0) / 1000000 ))"
		else
			N dir.softsad softsa "version $want not applied after 20 s (had $before)"
		fi
	done
	N dir.softsad softsa "softsa status polled every 5 ms"
else
	N dir.softsad softsa "no softsad binary"
fi
