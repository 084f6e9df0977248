# The gateway tunnel row of bench/netns.sh (sourced by it, in its esp section): TCP from a
# host behind gw1 to a host behind gw2 (tests/netns/tunnel_lib.sh's topology, namespaces
# $P-t-*), through softsad tunnel rules on both gateways, beside the same path routed in the
# clear by the same two gateways without softsad (the floor).
. "$HERE/../tests/netns/tunnel_lib.sh"

gw_iperf() { # SECS: Gbit/s h1 -> h2, or nothing
	ip netns exec "$P-t-h1" timeout $(($1 + 10)) iperf3 -c 10.2.0.2 -p 5201 -t "$1" -J 2>/dev/null |
		python3 -c 'import json,sys
try: print("%.3f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))
except Exception: pass'
}

row_gw() {
	local secs=3 r g h pids=""
	[ -n "$QUICK" ] && secs=1
	if [ -z "$SAD" ]; then
		N esp.gw1 softsa "no softsad binary ($SOFTSAD)"
		return
	fi
	HOSTS="$HOSTS t-h1 t-gw1 t-gw2 t-h2" # removed by cleanup whatever happens
	tun_up "$P-t" >/dev/null 2>&1 || { N esp.gw1 softsa "could not build the gateway namespaces"; return; }
	# ESP in UDP between the gateways, as in row_esp (BENCH_ESP_ENCAP=auto: raw ESP).
	TUN_RULE_EXTRA=", udp_encap: ${BENCH_ESP_ENCAP:-always}" tun_policy_gw1 "$W/gw1.yaml"
	TUN_RULE_EXTRA=", udp_encap: ${BENCH_ESP_ENCAP:-always}" tun_policy_gw2 "$W/gw2.yaml"
	ip netns exec "$P-t-h2" iperf3 -s -p 5201 >/dev/null 2>&1 &
	track $!
	sleep 0.3
	for r in $(seq "$ROUNDS"); do
		g=$(gw_iperf $secs)
		log "gw round $r floor (routed in the clear): ${g:-none} Gbit/s"
		[ -n "$g" ] && S esp.gw1 floor "$g"
	done
	for h in gw1 gw2; do
		rm -f "$W/$h.ctl"
		ip netns exec "$P-t-$h" "$SAD" -c "$W/$h.yaml" --dataplane user --control "$W/$h.ctl" >>"$W/sad-$h.log" 2>&1 &
		track $!
		pids="$pids $!"
		for _ in $(seq 100); do [ -S "$W/$h.ctl" ] && break; sleep 0.05; done
	done
	# The SAs come up with the first connection (held while IKE runs).
	ip netns exec "$P-t-h1" timeout 8 python3 -c 'import socket
socket.create_connection(("10.2.0.2", 5201), timeout=6).close()' 2>/dev/null
	for r in $(seq "$ROUNDS"); do
		local c0 c1
		c0=$(cpu_sum $pids)
		g=$(gw_iperf $secs)
		c1=$(cpu_sum $pids)
		log "gw round $r softsa: ${g:-none} Gbit/s, gateways $(((c1 - c0) * 1000 / TCK)) ms CPU"
		[ -n "$g" ] && S esp.gw1 softsa "$g"
	done
	grep -q "tunnel" "$W/sad-gw1.log" || N esp.gw1 softsa "gw1 brought up no tunnel: $(tail -1 "$W/sad-gw1.log")"
	for h in $pids; do stop_pid "$h"; done
	tun_down
}
