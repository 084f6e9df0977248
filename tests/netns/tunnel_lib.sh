# Two sites behind two gateways, for the gateway tunnel tests and the bench.
#
#   h1 10.1.0.2          gw1                      gw2                      h2 10.2.0.2
#      fd01::2     lan 10.1.0.1  wan 10.99.0.1 -- wan 10.99.0.2  lan 10.2.0.1    fd02::2
#   (eth0) ------------ fd01::1      fd99::1         fd99::2       fd02::1 ------------ (eth0)
#        LAN1                       transit link                       LAN2
#
# tun_up PREFIX [TRANSIT_MTU]: namespaces PREFIX-h1, -gw1, -gw2, -h2 (the caller puts its PID
# in PREFIX), veth pairs, addresses, default routes on the hosts, forwarding on the
# gateways, and each gateway's route to the other's LAN through the transit link (what
# carries it in the clear when no tunnel does).  tun_down removes them.
# tun_policy FILE NAME LOCAL4 REMOTE4 EP4 LOCAL6 REMOTE6 EP6 [ACTION_KEY: VALUE...]: a policy
# with one tunnel rule per family (the PSK file "psk" next to FILE).

TUN_NS=""

tun_down() {
	local n
	for n in $TUN_NS; do ip netns del "$n" 2>/dev/null; done
	TUN_NS=""
	return 0
}

tun_veth() { # NS1 IF1 NS2 IF2 MTU
	ip link add "$2" netns "$1" mtu "$5" type veth peer name "$4" netns "$3" mtu "$5"
	ip -n "$1" link set "$2" up
	ip -n "$3" link set "$4" up
}

tun_up() {
	local p=$1 mtu=${2:-1500} n
	for n in $(ip netns list | awk '{print $1}' | grep "^$p-"); do ip netns del "$n"; done
	for n in h1 gw1 gw2 h2; do
		ip netns add "$p-$n" || return 1
		TUN_NS="$TUN_NS $p-$n"
		ip -n "$p-$n" link set lo up
		# Addresses are usable at once (no duplicate address detection in a test).
		ip netns exec "$p-$n" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
	done
	tun_veth "$p-h1" eth0 "$p-gw1" lan 1500
	tun_veth "$p-gw1" wan "$p-gw2" wan "$mtu"
	tun_veth "$p-gw2" lan "$p-h2" eth0 1500
	ip -n "$p-h1" addr add 10.1.0.2/24 dev eth0
	ip -n "$p-h1" addr add fd01::2/64 dev eth0 nodad
	ip -n "$p-h2" addr add 10.2.0.2/24 dev eth0
	ip -n "$p-h2" addr add fd02::2/64 dev eth0 nodad
	ip -n "$p-gw1" addr add 10.1.0.1/24 dev lan
	ip -n "$p-gw1" addr add fd01::1/64 dev lan nodad
	ip -n "$p-gw2" addr add 10.2.0.1/24 dev lan
	ip -n "$p-gw2" addr add fd02::1/64 dev lan nodad
	ip -n "$p-gw1" addr add 10.99.0.1/24 dev wan
	ip -n "$p-gw1" addr add fd99::1/64 dev wan nodad
	ip -n "$p-gw2" addr add 10.99.0.2/24 dev wan
	ip -n "$p-gw2" addr add fd99::2/64 dev wan nodad
	ip -n "$p-h1" route add default via 10.1.0.1
	ip -n "$p-h1" -6 route add default via fd01::1
	ip -n "$p-h2" route add default via 10.2.0.1
	ip -n "$p-h2" -6 route add default via fd02::1
	ip -n "$p-gw1" route add 10.2.0.0/24 via 10.99.0.2
	ip -n "$p-gw1" -6 route add fd02::/64 via fd99::2
	ip -n "$p-gw2" route add 10.1.0.0/24 via 10.99.0.1
	ip -n "$p-gw2" -6 route add fd01::/64 via fd99::1
	for n in gw1 gw2; do
		ip netns exec "$p-$n" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	done
}

tun_policy() {
	local f=$1 name=$2 l4=$3 r4=$4 e4=$5 l6=$6 r6=$7 e6=$8 kv
	shift 8
	{
		printf 'name: %s\npsk_file: psk\nfilter_lists:\n' "$name"
		printf '  site4:\n    - { src: %s, dst: %s }\n' "$l4" "$r4"
		printf '  site6:\n    - { src: %s, dst: %s }\n' "$l6" "$r6"
		printf 'filter_actions:\n  secure:\n    action: negotiate\n'
		for kv in "$@"; do printf '    %s\n' "$kv"; done
		printf 'rules:\n'
		printf '  - { name: tunnel4, filter_list: site4, filter_action: secure, tunnel: %s%s }\n' "$e4" "${TUN_RULE_EXTRA:-}"
		printf '  - { name: tunnel6, filter_list: site6, filter_action: secure, tunnel: %s%s }\n' "$e6" "${TUN_RULE_EXTRA:-}"
	} > "$f"
}

# The policies of gw1 and gw2 for each other.
tun_policy_gw1() { tun_policy "$1" gw1 10.1.0.0/24 10.2.0.0/24 10.99.0.2 fd01::/64 fd02::/64 fd99::2 "${@:2}"; }
tun_policy_gw2() { tun_policy "$1" gw2 10.2.0.0/24 10.1.0.0/24 10.99.0.1 fd02::/64 fd01::/64 fd99::1 "${@:2}"; }
