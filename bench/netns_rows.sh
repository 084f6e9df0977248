# The three sections of bench/netns.sh (sourced by it: uses its topology and helpers).

ROUNDS=${IKE_ROUNDS:-3}  # IKE_ROUNDS: fewer rounds for long IKE_N runs (the other sections use it too)
[ -n "$QUICK" ] && ROUNDS=1
# BENCH_SMOKE=1 (make check): fewer SAs, one stream count, no silent host.
SMOKE=${BENCH_SMOKE:-}

# iperf3 TCP A -> B for SECS with P streams: Gbit/s received, or nothing.
iperf_gbps() { # SRC DST P SECS
	nx "$1" timeout $(($4 + 10)) iperf3 -c "$(ipof "$2")" -p 5201 -t "$4" -P "$3" -J 2>/dev/null |
		python3 -c 'import json,sys
try: print("%.3f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))
except Exception: pass'
}
tcp_probe() { # SRC DST: one TCP connection to the iperf3 port (brings the SA up)
	nx "$1" timeout 8 python3 -c 'import socket,sys
socket.create_connection((sys.argv[1], 5201), timeout=6).close()' "$(ipof "$2")" 2>/dev/null
}

row_esp() {
	local secs=3 r sys p g
	[ -n "$QUICK" ] && secs=1
	for h in b f h; do
		ip netns exec "$P-$h" iperf3 -s -p 5201 >/dev/null 2>&1 &
		track $!
	done
	local have_sad=1 have_ch=1
	# The ESP rows' softsads put ESP in UDP 4500 without a NAT (udp_encap: always), as the
	# charons do (encap = yes): the UDP GSO send path.  BENCH_ESP_ENCAP=auto: raw ESP.
	sed "s/^ike:\$/ike:\n  udp_encap: ${BENCH_ESP_ENCAP:-always}/" "$W/responder.yaml" >"$W/esp.yaml"
	if [ -z "$SAD" ]; then
		have_sad=0
		N esp.tcp1 softsa "no softsad binary ($SOFTSAD)"
		N esp.tcp4 softsa "no softsad binary ($SOFTSAD)"
	elif ! sad_start a -c "$W/esp.yaml" || ! sad_start b -c "$W/esp.yaml"; then
		have_sad=0
		N esp.tcp1 softsa "softsad did not start"
		N esp.tcp4 softsa "softsad did not start"
	fi
	if [ -x "$CHARON" ]; then
		charon_conf "$W/ch-e" "$(ipof e)" "$(ipof f)" pair-init
		charon_conf "$W/ch-f" "$(ipof f)" "$(ipof e)" pair-resp
		if charon_start f "$W/ch-f" && charon_start e "$W/ch-e" &&
			swanctl --initiate --child h2h --uri "unix://$W/ch-e/run/charon.vici" --timeout 10 >"$W/ch-init.out" 2>&1; then
			:
		else
			have_ch=0
			N esp.tcp1 anchor "charon pair did not come up: $(tail -1 "$W/ch-init.out" 2>/dev/null)"
			N esp.tcp4 anchor "charon pair did not come up"
		fi
	else
		have_ch=0
		N esp.tcp1 anchor "strongswan-charon not installed"
		N esp.tcp4 anchor "strongswan-charon not installed"
	fi
	sleep 0.5
	[ $have_sad = 1 ] && tcp_probe a b
	[ -n "$SMOKE" ] && N esp.tcp4 softsa "smoke run: 1 stream only"
	[ -n "$SMOKE" ] && N esp.cpu4 softsa "smoke run: 1 stream only"
	for r in $(seq "$ROUNDS"); do
		# Alternate the order from round to round so that drift hits all three alike.
		local order="softsa anchor floor"
		[ $((r % 3)) = 2 ] && order="anchor floor softsa"
		[ $((r % 3)) = 0 ] && order="floor softsa anchor"
		for sys in $order; do
			for p in 1 4; do
				[ -n "$SMOKE" ] && [ $p = 4 ] && continue
				g=""
				# CPU of both ends' IPsec daemons over the run, per Gbit moved.
				local pids="" c0 c1
				case $sys in
				softsa) pids="${SADPID_a:-} ${SADPID_b:-}" ;;
				anchor) pids="${CHPID_e:-} ${CHPID_f:-}" ;;
				esac
				c0=$(cpu_sum $pids)
				# BENCH_PERF=FILE: perf record of both softsads during the 1-stream run.
				local perf=""
				if [ -n "${BENCH_PERF:-}" ] && [ $sys = softsa ] && [ $p = 1 ] && [ $r = 1 ]; then
					perf record -q -g -o "$BENCH_PERF" -p "${SADPID_a},${SADPID_b}" -- sleep $((secs + 1)) \
						>/dev/null 2>&1 &
					perf=$!
				fi
				case $sys in
				softsa) [ $have_sad = 1 ] && g=$(iperf_gbps a b $p $secs) ;;
				anchor) [ $have_ch = 1 ] && g=$(iperf_gbps e f $p $secs) ;;
				floor) g=$(iperf_gbps g h $p $secs) ;;
				esac
				c1=$(cpu_sum $pids)
				[ -n "$perf" ] && wait "$perf"
				log "esp round $r $sys P=$p: ${g:-none} Gbit/s, daemons $(((c1 - c0) * 1000 / TCK)) ms CPU"
				[ -n "$g" ] && S "esp.tcp$p" "$sys" "$g"
				[ -n "$g" ] && [ -n "$pids" ] && [ "$c1" -gt "$c0" ] &&
					S "esp.cpu$p" "$sys" "$(awk -v c=$((c1 - c0)) -v t="$TCK" -v g="$g" -v s="$secs" \
						'BEGIN { printf "%.3f", c / t / (g * s) }')"
			done
		done
	done
	if [ $have_sad = 1 ]; then
		local st
		st=$(ctl a stats)
		echo "$st" | grep -q '"packets_out":0[,}]' && N esp.tcp1 softsa "softsad a sent no ESP: traffic went in the clear?"
		# Whether the offloads carried the run: super-packets split (A), GSO writes (B).
		for h in a b; do
			log "softsad $h offloads: $(ctl $h stats | python3 -c 'import json, sys
d = json.load(sys.stdin)
d = d.get("result", d).get("dataplane", {})
print(" ".join("%s=%s" % (k, d.get(k)) for k in ("captured", "gso_split", "esp_tx", "esp_tx_err", "gso_sent", "esp_rx", "delivered", "gro_merged", "udp_gro_reads", "malformed")))' 2>/dev/null);" \
				"TUN $(nx $h ip -s -o link show softsa0 2>/dev/null | sed 's/.*RX: *//; s/\\/ /g' | tr -s ' ')"
		done
		sad_stop a
		sad_stop b
	fi
	charon_stop e
	charon_stop f
}

# ---- IKE responder rate -------------------------------------------------------------------
SRCS=$(for i in $(seq 1 32); do printf '10.79.1.%d ' "$i"; done)
# ike_once IMPL GROUP COUNT [cert]: one fresh responder, one load; samples rate, CPU, memory
# (rows ike.GROUP.*; with cert, ECDSA P-256 certificates instead of the PSK: row ike.cert.*).
ike_once() {
	local impl=$1 grp=$2 count=$3 auth=${4:-psk} pid host side mode=tunnel
	local rid=$grp yaml=$W/responder.yaml role=load cred=$W/psk
	if [ "$auth" = cert ]; then
		rid=cert yaml=$W/responder-cert.yaml role=load-cert
		cred=cert:$W/pki/ca.pem:$W/pki/load.pem:$W/pki/load.key
	fi
	# softsad's host-to-host rules are transport mode; kernel-libipsec does tunnel mode only.
	# Either way one CHILD SA with the same suite.
	if [ "$impl" = softsa ]; then
		host=r side=softsa mode=transport
		sad_start r -c "$yaml" || { N "ike.$rid.rate" softsa "softsad did not start: $(tail -1 "$W/sad-r.log")"; return; }
		eval "pid=\$SADPID_r"
	else
		host=s side=anchor
		rm -rf "$W/ch-s"
		charon_conf "$W/ch-s" "$(ipof s)" any $role
		charon_start s "$W/ch-s" || { N "ike.$rid.rate" anchor "charon did not start"; return; }
		eval "pid=\$CHPID_s"
	fi
	sleep 0.3
	local c0 m0 c1 m1 hw out
	c0=$(cpu_ticks "$pid")
	m0=$(rss_kb "$pid")
	# The load generator's own CPU and peak RSS (/usr/bin/time) go to the progress log: it
	# shares the machine with the responder.  IKE_TIMEOUT: seconds for one load (default 120).
	local tm="" perfpid=""
	[ -x /usr/bin/time ] && tm="/usr/bin/time -o $W/ikeload.time -f %U+%S_s_cpu_%M_kB_maxrss"
	# IKE_PERF=PREFIX: perf record (call graphs) of softsad during the load, to PREFIX.GROUP.data.
	if [ -n "${IKE_PERF:-}" ] && [ "$impl" = softsa ] && command -v perf >/dev/null; then
		perf record -q -F 499 -g -p "$pid" -o "$IKE_PERF.$grp.data" >/dev/null 2>&1 &
		perfpid=$!
	fi
	out=$(nx l timeout "${IKE_TIMEOUT:-120}" $tm "$BUILD/bench/ikeload" "$(ipof $host)" "$count" "$grp" "${IKE_WINDOW:-32}" "$cred" $mode $SRCS 2>"$W/ikeload.err")
	sleep 0.5 # the responder finishes installing the last CHILD SAs
	[ -n "$perfpid" ] && { kill -INT "$perfpid"; wait "$perfpid"; }
	c1=$(cpu_ticks "$pid")
	m1=$(rss_kb "$pid")
	hw=$(hwm_kb "$pid")
	# What the responder says it holds at the end (softsad: its engine's IKE SAs and the
	# node's CHILD SAs), so that "established" is not only the load generator's view.
	local held=""
	[ "$impl" = softsa ] && held=$(ctl r stats | python3 -c 'import json, sys
d = json.load(sys.stdin); d = d.get("result", d)
print("held: ike_sas=%s" % d.get("ike", {}).get("sas"))' 2>/dev/null)
	# IKE_IDLE_S=N: then N s with every SA held and no load: the responder's CPU for its
	# timers alone (softsad: liveness reports, a tenth of the CHILD SAs every 100 ms).
	if [ -n "${IKE_IDLE_S:-}" ]; then
		sleep "$IKE_IDLE_S"
		held="$held idle: $(($(cpu_ticks "$pid") - c1)) ticks in ${IKE_IDLE_S} s"
	fi
	log "ike $impl $grp $auth: $out (cpu ticks $c0->$c1, rss $m0->$m1 kB, hwm $hw kB) $held ikeload $(cat "$W/ikeload.time" 2>/dev/null | tr '\n' ' ') $(head -c 200 "$W/ikeload.err")"
	local est rate
	est=$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["established"])' 2>/dev/null)
	rate=$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["rate"])' 2>/dev/null)
	if [ -n "$est" ] && [ "$est" -gt 0 ]; then
		S "ike.$rid.rate" $side "$rate"
		[ "$est" -lt "$count" ] && N "ike.$rid.rate" $side "only $est of $count established"
		S "ike.$rid.cpu" $side "$(awk -v a="$c0" -v b="$c1" -v t="$TCK" -v n="$est" 'BEGIN { printf "%.4f", (b - a) / t * 1000 / n }')"
		[ "$auth" = psk ] && S "ike.$rid.mem" $side "$(awk -v a="$m0" -v b="$m1" -v n="$est" 'BEGIN { printf "%.0f", (b - a) * 1024 / n }')"
	else
		N "ike.$rid.rate" $side "no SA established: $(head -c 120 "$W/ikeload.err" | tr '\n\t' '  ')"
	fi
	# IKE_KEEP_LOG=PREFIX: softsad's log of the run to PREFIX.GROUP.log.
	[ -n "${IKE_KEEP_LOG:-}" ] && [ "$impl" = softsa ] && cp "$W/sad-r.log" "$IKE_KEEP_LOG.$grp.log"
	if [ "$impl" = softsa ]; then sad_stop r; else charon_stop s; fi
}

row_ike() {
	[ -x "$BUILD/bench/ikeload" ] || { N ike.ecp256.rate softsa "bench/ikeload not built"; return; }
	local r grp n
	for r in $(seq "$ROUNDS"); do
		for grp in ecp256 modp2048; do
			# IKE_N / IKE_N_MODP: longer runs for before/after comparisons (1000 / 300 s are
			# well under a second on the development VM).
			n=${IKE_N:-1000}
			[ $grp = modp2048 ] && n=${IKE_N_MODP:-300}
			[ -n "$QUICK" ] && n=$((n / 10))
			[ -n "$SMOKE" ] && n=$((n / 5))
			# alternate which responder goes first
			if [ $((r % 2)) = 1 ]; then
				[ -n "$SAD" ] && ike_once softsa $grp $n
				[ -x "$CHARON" ] && ike_once charon $grp $n
			else
				[ -x "$CHARON" ] && ike_once charon $grp $n
				[ -n "$SAD" ] && ike_once softsa $grp $n
			fi
		done
	done
	# IKE_RATE_ONLY=1: the PSK rate rows alone (no certificate or flood rows).
	[ -n "${IKE_RATE_ONLY:-}" ] && return
	row_ike_cert
	if [ -z "$SAD" ]; then
		for grp in ecp256 modp2048 cert; do
			N "ike.$grp.rate" softsa "no softsad binary ($SOFTSAD)"
		done
	fi
	[ -x "$CHARON" ] || N ike.ecp256.rate anchor "strongswan-charon not installed"
	[ -x "$CHARON" ] || N ike.cert.rate anchor "strongswan-charon not installed"
	for r in $(seq "$ROUNDS"); do
		[ -n "$SAD" ] && flood_once softsa
		[ -x "$CHARON" ] && flood_once charon
	done
	[ -x "$CHARON" ] || N ike.flood.ms anchor "strongswan-charon not installed"
}

# Certificate authentication: the same load with ECDSA P-256 certificates from one test CA
# (tools/mkpki.sh); the load generator's certificate names it by DNS (its 32 addresses are
# not in it), each responder's by its address.
row_ike_cert() {
	command -v openssl >/dev/null || { N ike.cert.rate softsa "openssl missing (tools/mkpki.sh)"; return; }
	"$HERE/../tools/mkpki.sh" "$W/pki" load=$(ipof l),load.bench r=$(ipof r) s=$(ipof s) >/dev/null 2>&1 ||
		{ N ike.cert.rate softsa "tools/mkpki.sh failed"; return; }
	sed "s|^psk_file: .*|auth:\n  - certificate: { ca: $W/pki/ca.pem, cert: $W/pki/r.pem, key: $W/pki/r.key, peer_id: 'dns:load.bench' }|" \
		"$W/responder.yaml" >"$W/responder-cert.yaml"
	local r n=500
	[ -n "$QUICK" ] && n=$((n / 10))
	[ -n "$SMOKE" ] && n=$((n / 5))
	for r in $(seq "$ROUNDS"); do
		if [ $((r % 2)) = 1 ]; then
			[ -n "$SAD" ] && ike_once softsa ecp256 $n cert
			[ -x "$CHARON" ] && ike_once charon ecp256 $n cert
		else
			[ -x "$CHARON" ] && ike_once charon ecp256 $n cert
			[ -n "$SAD" ] && ike_once softsa ecp256 $n cert
		fi
	done
}

# flood_once IMPL: a fresh responder flooded with well-formed IKE_SA_INITs (20,000/s from
# 10.79.1.17-32, cookies never echoed: tests/netns/ike_flood.py) while a legitimate initiator
# (10.79.1.1, bench/ikeload, one negotiation at a time) opens IKE SAs; samples its mean time
# per IKE SA (+ CHILD SA), COOKIE round trip included.
flood_once() {
	local impl=$1 host side=softsa mode=transport n=20 fsecs=12
	[ -n "$QUICK" ] && n=5 fsecs=6
	[ -n "$SMOKE" ] && n=2 fsecs=3
	if [ "$impl" = softsa ]; then
		host=r
		sad_start r -c "$W/responder.yaml" || { N ike.flood.ms softsa "softsad did not start"; return; }
	else
		host=s side=anchor mode=tunnel
		rm -rf "$W/ch-s"
		charon_conf "$W/ch-s" "$(ipof s)" any flood
		charon_start s "$W/ch-s" || { N ike.flood.ms anchor "charon did not start"; return; }
	fi
	local srcs fl out
	srcs=$(for i in $(seq 17 32); do printf '10.79.1.%d ' "$i"; done)
	# shellcheck disable=SC2086
	nx l python3 "$HERE/../tests/netns/ike_flood.py" "$(ipof $host)" $fsecs 20000 $srcs >"$W/flood.out" 2>&1 &
	fl=$!
	track $fl
	sleep 1 # the flood is on
	out=$(nx l timeout 60 "$BUILD/bench/ikeload" "$(ipof $host)" $n ecp256 1 "$W/psk" $mode 10.79.1.1 2>"$W/ikeload.err")
	wait $fl
	log "ike flood $impl: $out; flood $(cat "$W/flood.out")"
	local est secs
	est=$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["established"])' 2>/dev/null)
	secs=$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["seconds"])' 2>/dev/null)
	if [ -n "$est" ] && [ "$est" -gt 0 ]; then
		S ike.flood.ms $side "$(awk -v s="$secs" -v n="$est" 'BEGIN { printf "%.1f", s * 1000 / n }')"
		[ "$est" -lt "$n" ] && N ike.flood.ms $side "only $est of $n established under the flood"
	else
		N ike.flood.ms $side "no SA established under the flood: $(head -c 120 "$W/ikeload.err" | tr '\n\t' '  ')"
	fi
	if [ "$impl" = softsa ]; then sad_stop r; else charon_stop s; fi
}

# ---- fallback latency -----------------------------------------------------------------------
# fb_once MODE(hold|disc) TARGET(c|d) SRC: one probe stream; samples first_ms and lost.
fb_once() {
	local mode=$1 tgt=$2 src=$3 side=${4:-softsa} count gap=10 dur
	# enough datagrams to span the fallback: 1.5 s toward C, 4.5 s toward D
	count=150
	[ "$tgt" = d ] && count=450
	dur=$(awk -v c=$count -v g=$gap 'BEGIN { print c * g / 1000 + 1.5 }')
	local port=$((6000 + RANDOM % 1000))
	rm -f "$W/rx"
	local rtarget=$tgt
	ip netns exec "$P-$rtarget" python3 "$HERE/fallback_probe.py" recv "$(ipof "$rtarget")" $port $dur "$W/rx" &
	local rp=$!
	track $rp
	for _ in $(seq 100); do grep -q ready "$W/rx" 2>/dev/null && break; sleep 0.05; done
	nx "$src" python3 "$HERE/fallback_probe.py" send "$(ipof "$rtarget")" $port $count $gap >"$W/tx"
	wait $rp
	local res first lost
	res=$(python3 "$HERE/fallback_probe.py" result "$W/tx" "$W/rx")
	first=$(echo "$res" | python3 -c 'import json,sys; v=json.load(sys.stdin)["first_ms"]; print("" if v is None else "%.2f" % v)')
	lost=$(echo "$res" | python3 -c 'import json,sys; print(json.load(sys.stdin)["lost"])')
	log "fallback $mode -> $tgt ($side): $res"
	local tn=icmp
	[ "$tgt" = d ] && tn=silent
	if [ -n "$first" ]; then S "fb.$mode.$tn.ms" "$side" "$first"; else N "fb.$mode.$tn.ms" "$side" "nothing delivered"; fi
	[ "$side" = softsa ] && S "fb.$mode.$tn.lost" softsa "$lost"
}

# The policy of softsad's ESP pair and IKE responder: Server (Request Security) with the same
# suites as the charons (IKE AES-128-GCM + PRF-SHA256 with ECP-256 or MODP-2048, ESP
# AES-128-GCM), so that both systems do the same work.
policy_responder() {
	cat >"$W/responder.yaml" <<-EOF
	name: bench-server
	psk_file: $W/psk
	ike:
	  proposals:
	    - aes128gcm16-prfsha256-ecp256
	    - aes128gcm16-prfsha256-modp2048
	filter_lists:
	  all-icmp:
	    - { src: me, dst: any, proto: icmp }
	  all-ip:
	    - { src: me, dst: any }
	filter_actions:
	  permit:
	    action: permit
	  request:
	    action: negotiate
	    methods: [aes128gcm16]
	    accept_unsecured: true
	    fallback_to_clear: true
	rules:
	  - { name: all-icmp, filter_list: all-icmp, filter_action: permit }
	  - { name: all-ip, filter_list: all-ip, filter_action: request }
	default_response: true
	EOF
}

policy_discovery() {
	cat >"$W/discovery.yaml" <<-EOF
	name: bench-discovery
	psk_file: $W/psk
	filter_lists:
	  all-icmp:
	    - { src: me, dst: any, proto: icmp }
	  all-ip:
	    - { src: me, dst: any }
	filter_actions:
	  permit:
	    action: permit
	  discover:
	    action: negotiate
	    methods: [aes256gcm16, aes128gcm16]
	    accept_unsecured: true
	    fallback_to_clear: true
	    discovery: true
	rules:
	  - { name: all-icmp, filter_list: all-icmp, filter_action: permit }
	  - { name: all-ip, filter_list: all-ip, filter_action: discover }
	default_response: true
	EOF
}

row_fallback() {
	local r mode tgt
	if [ -z "$SAD" ]; then
		for mode in hold disc; do for tgt in icmp silent; do
			N "fb.$mode.$tgt.ms" softsa "no softsad binary ($SOFTSAD)"
		done; done
		return
	fi
	policy_discovery
	for mode in hold disc; do
		if [ $mode = hold ]; then
			sad_start a --builtin server --psk-file "$W/psk" || { N fb.hold.icmp.ms softsa "softsad did not start"; continue; }
		else
			sad_start a -c "$W/discovery.yaml" || { N fb.disc.icmp.ms softsa "softsad did not start with the discovery policy: $(tail -1 "$W/sad-a.log")"; continue; }
		fi
		for r in $(seq "$ROUNDS"); do
			for tgt in c d; do
				if [ -n "$SMOKE" ] && [ $tgt = d ]; then
					N "fb.$mode.silent.ms" softsa "smoke run: silent host skipped"
					N "fb.$mode.silent.lost" softsa "smoke run: silent host skipped"
					continue
				fi
				fb_once $mode $tgt a
				# forget the soft association: the next run starts from scratch
				ctl a flush-soft >/dev/null 2>&1
				sleep 0.2
			done
			# the clear path, same probe, no daemon on either side (discovery's reference)
			if [ $mode = disc ] && [ -z "$SMOKE" ]; then
				fb_once disc c g floor
				[ -z "$SMOKE" ] && fb_once disc d g floor
			fi
		done
		sad_stop a
	done
}
