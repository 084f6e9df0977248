#!/bin/bash
# The rows that need no root and no daemon: crypto floors (OpenSSL on one core), classifier,
# agent, ESP and IKE micro-benchmarks, and the scale rows.  Appends samples to SAMPLES
# (format: bench/report.py).
#
#   bench/micro.sh BUILD SAMPLES [--quick]
# Runnable alone; each program it calls is runnable alone too (see bench/README.md).
set -u
BUILD=${1:?usage: micro.sh BUILD SAMPLES [--quick]}
OUT=${2:?}
QUICK=${3:-}
ROUNDS=3
[ "$QUICK" = --quick ] && ROUNDS=1
B=$BUILD/bench
S() { printf 'S\t%s\t%s\t%s\n' "$1" "$2" "$3" >>"$OUT"; }
N() { printf 'N\t%s\t%s\t%s\n' "$1" "$2" "$3" >>"$OUT"; }
# A number followed by k/M, as the programs print them, in M.
inM() { awk -v v="$1" -v u="$2" 'BEGIN { if (u == "k") v /= 1000; printf "%.4f\n", v }'; }

for r in $(seq "$ROUNDS"); do
	echo "micro: round $r/$ROUNDS" >&2
	# --- floors: one core, OpenSSL ------------------------------------------------------
	secs=1
	[ -n "$QUICK" ] && secs=0.2
	# AES-128-GCM at 1400-byte blocks (openssl speed needs whole seconds: -seconds 1).
	g=$(openssl speed -elapsed -mr -seconds 1 -bytes 1400 -evp aes-128-gcm 2>/dev/null |
		awk -F: '/^\+F:/ { printf "%.3f\n", $4 * 8 / 1e9 }')
	[ -n "$g" ] && S esp.gcm_floor softsa "$g"
	# The DH bound of an IKE responder: one key pair + one derivation per handshake.
	"$B/bench_ike_crypto" "$secs" 2>/dev/null | awk '
		/^DH ecp256 keygen \+ derive \(one side\)/ { print "ecp256", $(NF-3) }
		/^DH modp2048 keygen \+ derive \(one side\)/ { print "modp2048", $(NF-3) }
		/^cert responder floor ecp256/ { print "cert", $(NF-3) }' |
		while read -r grp v; do S "ike.$grp.rate" floor "$v"; done

	# --- classifier vs its naive oracle ------------------------------------------------
	for n in 10 1000; do
		line=$("$B/classify" --size "$n" 2>/dev/null | awk -F'|' -v n="$n" '$2+0 == n && $2 ~ /[0-9]/')
		if [ -n "$line" ]; then
			read -r cv cu <<<"$(echo "$line" | awk -F'|' '{ print $6 }')"
			read -r nv nu <<<"$(echo "$line" | awk -F'|' '{ print $8 }')"
			S "cls.$n" softsa "$(inM "$cv" "$cu")"
			S "cls.$n" anchor "$(inM "$nv" "$nu")"
		else
			N "cls.$n" softsa "bench/classify printed no row for $n filters"
		fi
	done

	# --- agent: decisions, and the 1M soft associations --------------------------------
	if [ -n "$QUICK" ]; then a=$("$B/agent" --quick 2>/dev/null); big=20000; else a=$("$B/agent" 2>/dev/null); big=1000000; fi
	echo "$a" | awk -v big="$big" '
		$1 == 1000 && /decisions/ { print "agent.secured softsa", $3; print "agent.soft softsa", $9;
					    print "scale.soft.lookup anchor", $9 }
		$1 == big && /decisions/ { print "scale.soft.lookup softsa", $9 }
		$1 == big && /soft associations: created/ { for (i = 1; i < NF; i++) if ($(i+1) == "bytes" && $(i+2) == "each;") print "scale.soft.mem softsa", $i }' |
		while read -r id side v; do S "$id" "$side" "${v%;}"; done
	[ -n "$QUICK" ] && N scale.soft.mem softsa "quick run: $big associations, not 1M"

	# --- ESP micro: encap/decap vs the cipher alone ------------------------------------
	"$B/esp_micro" 0.1 AES-128-GCM 1400 2>/dev/null | awk '$1 == "AES-128-GCM" && $2 == 1400 {
		print "esp.micro.encap softsa", $4; print "esp.micro.encap floor", $7;
		print "esp.micro.decap softsa", $10; print "esp.micro.decap floor", $13 }' |
		while read -r id side v; do S "$id" "$side" "$v"; done

	# --- IKE engine in process, both sides ---------------------------------------------
	"$B/bench_ike" "$secs" 2>/dev/null | awk '
		$1 ~ /ecp256$/ { print "ike.inproc.ecp256 softsa", $2; print "ike.inproc.ecp256 floor", $4 }
		$1 ~ /modp2048$/ { print "ike.inproc.modp2048 softsa", $2; print "ike.inproc.modp2048 floor", $4 }' |
		while read -r id side v; do S "$id" "$side" "$v"; done
done

# --- scale: 100k IKE SAs in one responder engine (memory and set-up CPU per SA) -----------
n=100000
[ -n "$QUICK" ] && n=200
j=$(timeout 400 "$B/ike_scale" "$n" 2>/dev/null)
if [ -n "$j" ]; then
	python3 -c 'import json,sys; j=json.loads(sys.argv[1])
print("scale.ike.mem softsa", j["bytes_per_sa"]); print("scale.ike.lookup softsa", j["dpd_us_large"])
print("scale.ike.lookup anchor", j["dpd_us_small"])
print("scale.ike.cpu softsa", j["setup_cpu_us_per_sa"]); print("scale.ike.cpu anchor", j["setup_cpu_us_per_sa_small"])' "$j" | while read -r id side v; do S "$id" "$side" "$v"; done
	N scale.ike.mem softsa "1 run; idle (cached responses expired): $(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["bytes_per_sa_idle"])' "$j") B"
	[ -n "$QUICK" ] && N scale.ike.mem softsa "quick run: $n SAs, not 100k"
else
	N scale.ike.mem softsa "bench/ike_scale $n did not finish within 400 s"
	N scale.ike.lookup softsa "bench/ike_scale $n did not finish within 400 s"
	N scale.ike.cpu softsa "bench/ike_scale $n did not finish within 400 s"
fi
exit 0
