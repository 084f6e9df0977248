# strongSwan's charon (kernel-libipsec: userspace ESP, tunnel mode, always ESP in UDP 4500)
# in a network namespace; sourced by tests/interop/strongswan.sh (the IKE engine against
# charon) and tests/netns/e2e_strongswan.sh (softsad against charon).
# Recipe: /work/shared/notes/strongswan-netns/.
#
# charon_start NS DIR   starts charon in NS with a private /run (its pid file is fixed at
#                       /run/charon.pid) in DIR/run; vici socket DIR/run/charon.vici;
#                       CHARON_EXTRA: more charon { } settings.
# charon_stop DIR       stops it by the PID in DIR/run/charon.pid (only if that is charon).
# swanctl_at DIR CMD ARGS...  swanctl against that charon.
# charon_available      false when strongSwan (with kernel-libipsec) is not installed.
# CHARON_KERNEL=netlink  charon_start without kernel-libipsec: ESP in the kernel (XFRM), any
#                       mode, raw ESP (tests/vm, whose kernel has ESP).

charon_available() {
	command -v swanctl >/dev/null && [ -x /usr/lib/ipsec/charon ] &&
		[ -f /usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so ] &&
		[ -f /usr/lib/ipsec/plugins/libstrongswan-openssl.so ]
}

swanctl_at() { local dir=$1 cmd=$2; shift 2; swanctl "$cmd" --uri "unix://$dir/run/charon.vici" "$@"; }

charon_start() {
	local ns=$1 dir=$2 libipsec=kernel-libipsec marks
	# kernel-libipsec routes through its TUN and marks its own sockets around it.
	marks='kernel-libipsec { allow_peer_ts = yes }
        kernel-netlink { fwmark = !0x42 }
        socket-default { fwmark = 0x42 }'
	if [ "${CHARON_KERNEL:-libipsec}" = netlink ]; then
		libipsec= marks=
	fi
	mkdir -p "$dir/run"
	cat > "$dir/strongswan.conf" <<CONF
charon {
    load = random nonce openssl pem pkcs1 pkcs8 x509 pubkey constraints revocation curve25519 kdf hmac gcm aes sha2 $libipsec kernel-netlink socket-default vici
    install_routes = yes
    retransmit_tries = 2
    ${CHARON_EXTRA:-}
    plugins {
        $marks
        vici { socket = unix://$dir/run/charon.vici }
    }
    filelog {
        log { path = $dir/charon.log
              time_format = %T
              default = 1
              ike = 2
              flush_line = yes }
    }
    syslog { }
}
CONF
	setsid -f ip netns exec "$ns" sh -c 'mount --bind "$1" /run && exec env STRONGSWAN_CONF="$2" /usr/lib/ipsec/charon' \
		sh "$dir/run" "$dir/strongswan.conf" > "$dir/charon.stdout" 2>&1
	local i
	# The socket file appears at bind(), a moment before charon listens on it (longer on a
	# loaded machine): ready is when vici answers.
	for i in $(seq 200); do
		[ -S "$dir/run/charon.vici" ] && swanctl --stats --uri "unix://$dir/run/charon.vici" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	echo "charon did not start: $(cat "$dir/charon.stdout")"
	return 1
}

charon_stop() {
	local dir=$1 pid
	[ -f "$dir/run/charon.pid" ] || return 0
	pid=$(cat "$dir/run/charon.pid")
	if [ -n "$pid" ] && [ "$(cat /proc/$pid/comm 2>/dev/null)" = charon ]; then
		kill "$pid" 2>/dev/null
		for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null
	fi
	return 0
}

# charon_load_psk DIR MODE [VERSION IKE_PROPOSALS ESP_PROPOSALS]: the host-to-host connection
# "a" between charon on E (10.89.0.5) and softsad on A (10.89.0.1), PSK from $PSK, one CHILD
# SA "a" in MODE (transport or tunnel) that neither side starts by itself; loaded into the
# charon of DIR.  Defaults: IKEv2, the suites softsad's tests negotiate.
charon_load_psk() {
	local dir=$1 mode=$2 ver=${3:-2} ike=${4:-aes256gcm16-prfsha384-ecp384} esp=${5:-aes256gcm16}
	cat > "$dir/swanctl.conf" <<CONF
connections {
    a {
        version = $ver
        local_addrs = 10.89.0.5
        remote_addrs = 10.89.0.1
        proposals = $ike
        dpd_delay = 0
        local { auth = psk
                id = 10.89.0.5 }
        remote { auth = psk
                 id = 10.89.0.1 }
        children {
            a { mode = $mode
                local_ts = 10.89.0.5/32
                remote_ts = 10.89.0.1/32
                esp_proposals = $esp
                start_action = none }
        }
    }
}
secrets {
    ike-a { id-1 = 10.89.0.5
            id-2 = 10.89.0.1
            secret = "$(cat "$PSK")" }
}
CONF
	swanctl_at "$dir" --load-all --noprompt --file "$dir/swanctl.conf" >/dev/null 2>"$dir/load.err" ||
		{ echo "swanctl --load-all: $(cat "$dir/load.err")"; return 1; }
}
