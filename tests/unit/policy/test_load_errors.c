/* Every class of bad policy file gets one precise error, FILE:LINE:COL: message, and no
 * policy.  Each row is a file and the exact text the loader must say about it. */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <yaml.h>

#include "policy/load.h"
#include "policy/load_int.h"
#include "tload.h"

#define PSK "psk: 0123456789abcdef\n"
/* A list, an action and the auth a rule needs, for rows about rules. */
#define BASE \
	"auth:\n  - " PSK \
	"filter_lists:\n  web:\n    - { dst: 192.0.2.0/24 }\n" \
	"filter_actions:\n  sec: { action: negotiate }\n  ok: { action: permit }\n"

static const struct row {
	const char *yaml;
	const char *error;
} rows[] = {
	/* 1. YAML syntax */
	{ "rules: [\n", "t.yaml:2:1: YAML syntax error: did not find expected node content (while parsing a flow node at line 2, column 1)" },
	{ "a: b: c\n", "t.yaml:1:5: YAML syntax error: mapping values are not allowed in this context" },
	{ "name: \"x\n", "t.yaml:2:1: YAML syntax error: found unexpected end of stream (while scanning a quoted scalar at line 1, column 7)" },
	{ "", "t.yaml:1:1: empty policy file: expected a mapping with rules or builtin" },
	{ "name: a\n---\nname: b\n", "t.yaml:2:1: only one YAML document is allowed in a policy file" },
	{ "a: &x 1\nb: *x\n", "t.yaml:2:4: YAML aliases are not supported in policy files" },
	{ "{a: 1} : 2\n", "t.yaml:1:1: a mapping key must be a plain string" },
	{ "name: \"a\\0b\"\n", "t.yaml:1:7: NUL character in a string" },
	/* 2. unknown keys, with and without a suggestion */
	{ "filter_list:\n  a: []\n", "t.yaml:1:1: unknown key 'filter_list' in policy (did you mean 'filter_lists'?)" },
	{ "filter_lists:\n  a:\n    - protocol: tcp\n", "t.yaml:3:7: unknown key 'protocol' in filter (did you mean 'proto'?)" },
	{ "filter_actions:\n  n:\n    action: negotiate\n    fallback: true\n",
		"t.yaml:4:5: unknown key 'fallback' in filter action (did you mean 'fallback_to_clear'?)" },
	{ "zzz: 1\n", "t.yaml:1:1: unknown key 'zzz' in policy (expected one of: name, description, builtin, psk_file, auth, filter_lists, filter_actions, rules, default_response, ike, downgrade_protection)" },
	{ "name: x\nname: y\n", "t.yaml:2:1: duplicate key 'name' in policy (first at line 1)" },
	/* 3. wrong types */
	{ "- 1\n", "t.yaml:1:1: policy must be a mapping, got a sequence" },
	{ "name: [1]\n", "t.yaml:1:7: name must be a scalar, got a sequence" },
	{ "filter_lists: [a]\n", "t.yaml:1:15: filter_lists must be a mapping of names to filter sequences, got a sequence" },
	{ "filter_lists:\n  a: {dst: any}\n", "t.yaml:2:6: a filter list must be a sequence, got a mapping" },
	{ "filter_lists:\n  a:\n    - mirrored: maybe\n", "t.yaml:3:17: mirrored must be true or false, got 'maybe'" },
	{ "filter_lists:\n  a:\n    - mirrored: \"true\"\n", "t.yaml:3:17: mirrored must be true or false without quotes (\"true\" in quotes is a string)" },
	{ "downgrade_protection: 3w\n", "t.yaml:1:23: downgrade_protection must be a number with an optional unit (s, m, h, d), got '3w'" },
	{ "downgrade_protection: 400d\n", "t.yaml:1:23: downgrade_protection must be between 0 and 31536000 seconds, got '400d'" },
	{ "ike:\n  lifetime: -5\n", "t.yaml:2:13: lifetime must be a number with an optional unit (s, m, h, d), got '-5'" },
	/* 4. addresses and prefixes */
	{ "filter_lists:\n  a:\n    - src: 10.0.0.1/8\n", "t.yaml:3:12: src: bad address or prefix '10.0.0.1/8': address has bits set beyond the prefix length" },
	{ "filter_lists:\n  a:\n    - src: 10.0.0.0/33\n", "t.yaml:3:12: src: bad address or prefix '10.0.0.0/33': prefix length above 32 for IPv4" },
	{ "filter_lists:\n  a:\n    - dst: 2001:db8::/129\n", "t.yaml:3:12: dst: bad address or prefix '2001:db8::/129': prefix length above 128 for IPv6" },
	{ "filter_lists:\n  a:\n    - dst: 300.1.1.1\n", "t.yaml:3:12: dst: bad address or prefix '300.1.1.1': not an IPv4 or IPv6 address" },
	{ "filter_lists:\n  a:\n    - dst: \"bad name!\"\n", "t.yaml:3:12: dst: bad address or prefix 'bad name!': not an IPv4 or IPv6 address" },
	{ "filter_lists:\n  a:\n    - src: 10.0.0.1\n      dst: 2001:db8::1\n", "t.yaml:3:7: src and dst are of different address families" },
	{ "filter_lists:\n  a:\n    - dst: 2001:db8::1\n      proto: icmp\n", "t.yaml:3:7: proto icmp cannot match IPv6 addresses" },
	{ "filter_lists:\n  a:\n    - dst: v4.test\n      proto: icmpv6\n", "t.yaml:3:7: proto icmpv6 cannot match IPv4 addresses" },
	{ "filter_lists:\n  a:\n    - { src: me, dst: me }\n", "t.yaml:3:7: src and dst cannot both be me" },
	/* 5. DNS names */
	{ "filter_lists:\n  a:\n    - dst: nowhere.test\n", "t.yaml:3:12: dst: cannot resolve DNS name 'nowhere.test': no such name (fake resolver)" },
	/* 6. protocols and ports */
	{ "filter_lists:\n  a:\n    - proto: tpc\n", "t.yaml:3:14: unknown protocol 'tpc' (did you mean 'tcp'?)" },
	{ "filter_lists:\n  a:\n    - proto: 256\n", "t.yaml:3:14: proto must be between 0 and 255, got 256" },
	{ "filter_lists:\n  a:\n    - proto: tcp\n      dst_port: 70000\n", "t.yaml:4:17: dst_port out of range: '70000' (ports are 0-65535)" },
	{ "filter_lists:\n  a:\n    - proto: udp\n      src_port: 90-80\n", "t.yaml:4:17: src_port range '90-80' is reversed (low-high)" },
	{ "filter_lists:\n  a:\n    - proto: tcp\n      dst_port: http\n", "t.yaml:4:17: dst_port must be a port or a range 'low-high', got 'http'" },
	{ "filter_lists:\n  a:\n    - proto: icmp\n      dst_port: 80\n", "t.yaml:4:17: dst_port needs proto tcp, udp or sctp (proto is icmp, which has no ports)" },
	{ "filter_lists:\n  a:\n    - dst_port: 80\n", "t.yaml:3:17: dst_port needs proto tcp, udp or sctp (proto is any, which has no ports)" },
	{ "filter_lists:\n  a:\n    - proto: 47\n      src_port: 1\n", "t.yaml:4:17: src_port needs proto tcp, udp or sctp (proto is 47, which has no ports)" },
	/* 7. empty filter lists */
	{ "filter_lists:\n  a: []\n", "t.yaml:2:6: filter list 'a' is empty" },
	{ "filter_lists:\n  a:\n", "t.yaml:2:5: filter list 'a' is empty" },
	/* 8. negotiate-only settings on permit/block, and settings that need fallback */
	{ "filter_actions:\n  p:\n    action: permit\n    fallback_to_clear: true\n", "t.yaml:4:5: fallback_to_clear applies only to negotiate actions, not permit" },
	{ "filter_actions:\n  p:\n    action: block\n    accept_unsecured: true\n", "t.yaml:4:5: accept_unsecured applies only to negotiate actions, not block" },
	{ "filter_actions:\n  p:\n    action: block\n    methods: [aes256gcm16]\n", "t.yaml:4:5: methods applies only to negotiate actions, not block" },
	{ "filter_actions:\n  n:\n    action: negotiate\n    discovery: true\n", "t.yaml:4:5: discovery needs fallback_to_clear: true" },
	{ "filter_actions:\n  n:\n    action: negotiate\n    soft_idle_lifetime: 60\n", "t.yaml:4:5: soft_idle_lifetime needs fallback_to_clear: true" },
	{ "filter_actions:\n  n:\n    action: negotiate\n    icmp_fallback: full\n", "t.yaml:4:5: icmp_fallback needs fallback_to_clear: true" },
	{ "filter_actions:\n  n:\n    action: negotiate\n    fallback_to_clear: true\n    icmp_fallback: slow\n", "t.yaml:5:20: unknown icmp_fallback 'slow' (expected fast or full)" },
	{ "filter_actions:\n  n:\n    action: negotiate\n    fallback_to_clear: true\n    icmp_fallback: [full]\n", "t.yaml:5:20: icmp_fallback must be a scalar, got a sequence" },
	{ "filter_actions:\n  p:\n    action: permit\n    icmp_fallback: full\n", "t.yaml:4:5: icmp_fallback applies only to negotiate actions, not permit" },
	{ "filter_actions:\n  n:\n    action: allow\n", "t.yaml:3:13: unknown action 'allow' (expected permit, block or negotiate)" },
	{ "filter_actions:\n  n:\n    methods: []\n", "t.yaml:3:5: filter action 'n' needs 'action' (permit, block or negotiate)" },
	{ "filter_actions:\n  n:\n    action: negotiate\n    methods: [aes256gcm]\n", "t.yaml:4:15: unknown ESP method 'aes256gcm' (expected aes128gcm16, aes256gcm16, or aes128/aes256 with -sha256, -sha384 or -sha512)" },
	{ "filter_actions:\n  n:\n    action: negotiate\n    methods: [aes128gcm16-sha256]\n", "t.yaml:4:15: unknown ESP method 'aes128gcm16-sha256' (expected aes128gcm16, aes256gcm16, or aes128/aes256 with -sha256, -sha384 or -sha512)" },
	{ "filter_actions:\n  n:\n    action: negotiate\n    methods: [aes256gcm16, aes256gcm16]\n", "t.yaml:4:28: duplicate security method 'aes256gcm16' (first at line 4)" },
	{ "filter_actions:\n  n:\n    action: negotiate\n    methods: []\n", "t.yaml:4:14: methods is empty: a negotiate action needs at least one" },
	{ "filter_actions:\n  n:\n    action: negotiate\n    methods:\n      - { esp: aes128-sha256, lifetime: 10 }\n", "t.yaml:5:41: lifetime must be between 60 and 172800 seconds, got '10'" },
	{ "filter_actions:\n  n:\n    action: negotiate\n    methods:\n      - { esp: aes128-sha256, lifetime_bytes: 5x }\n", "t.yaml:5:47: lifetime_bytes must be a number with an optional unit (K, M, G), got '5x'" },
	{ "filter_actions:\n  n:\n    action: negotiate\n    methods:\n      - { esp: aes128-sha256, lifetime_bytes: 1000K }\n", "t.yaml:5:47: lifetime_bytes must be at least 1M, got '1000K'" },
	{ "filter_actions:\n  n:\n    action: negotiate\n    methods:\n      - { lifetime: 1h }\n", "t.yaml:5:9: security method needs 'esp'" },
	{ "filter_actions:\n  n:\n    action: negotiate\n    pfs: modp1024\n", "t.yaml:4:10: unknown pfs group 'modp1024' (expected none, modp2048, ecp256, ecp384 or curve25519)" },
	/* 9. duplicate and dangling names */
	{ "filter_actions:\n  p: {action: permit}\n  p: {action: block}\n", "t.yaml:3:3: duplicate filter action name 'p' (first at line 2)" },
	{ "filter_lists:\n  a: [{dst: any}]\n  a: [{dst: any}]\n", "t.yaml:3:3: duplicate filter list name 'a' (first at line 2)" },
	{ BASE "rules:\n  - { name: r, filter_list: web, filter_action: ok }\n  - { name: r, filter_list: web, filter_action: ok }\n",
		"t.yaml:11:13: duplicate rule name 'r' (first at line 10)" },
	{ BASE "rules:\n  - { name: r, filter_list: webb, filter_action: ok }\n", "t.yaml:10:29: unknown filter list 'webb' (did you mean 'web'?)" },
	{ BASE "rules:\n  - { name: r, filter_list: web, filter_action: nope }\n", "t.yaml:10:49: unknown filter action 'nope'" },
	{ BASE "rules:\n  - { filter_list: web, filter_action: ok }\n", "t.yaml:10:5: rule needs a name" },
	{ BASE "rules:\n  - { name: r, filter_action: ok }\n", "t.yaml:10:5: rule 'r' needs a filter_list" },
	/* 10. authentication */
	{ "filter_lists:\n  a: [{dst: any}]\nfilter_actions:\n  n: {action: negotiate}\nrules:\n  - name: r\n    filter_list: a\n    filter_action: n\n",
		"t.yaml:6:5: rule 'r' negotiates but has no auth (give auth here, or auth or psk_file at top level)" },
	{ "auth:\n  - psk: short\n", "t.yaml:2:10: pre-shared key is too short: 5 bytes, at least 16 needed" },
	{ "auth:\n  - { local_id: a.example }\n", "t.yaml:2:5: auth method needs psk, psk_file or certificate" },
	{ "auth:\n  - { psk: 0123456789abcdef, psk_file: k }\n", "t.yaml:2:30: give either psk or psk_file, not both" },
	{ "auth:\n  - { psk: 0123456789abcdef, remote_id: \"a b\" }\n", "t.yaml:2:41: remote_id may contain only printable ASCII without spaces" },
	{ "auth: []\n", "t.yaml:1:7: auth is empty" },
	{ BASE "rules:\n  - { name: r, filter_list: web, filter_action: ok, auth: [{" PSK "}] }\n",
		"t.yaml:10:53: auth applies only to rules whose action negotiates ('ok' is permit)" },
	{ BASE "rules:\n  - { name: r, filter_list: web, filter_action: ok, tunnel: 192.0.2.1 }\n",
		"t.yaml:10:53: tunnel applies only to rules whose action negotiates ('ok' is permit)" },
	{ BASE "rules:\n  - { name: r, filter_list: web, filter_action: sec, tunnel: gw.example }\n",
		"t.yaml:10:62: tunnel must be the IP address of the tunnel endpoint, got 'gw.example'" },
	{ BASE "rules:\n  - { name: r, filter_list: web, filter_action: sec, tcp_mss_clamp: 1300 }\n",
		"t.yaml:10:54: tcp_mss_clamp applies only to tunnel rules" },
	{ BASE "rules:\n  - { name: r, filter_list: web, filter_action: sec, tunnel: 192.0.2.1, tcp_mss_clamp: 100 }\n",
		"t.yaml:10:88: tcp_mss_clamp must be between 536 and 65495, got 100" },
	{ BASE "rules:\n  - { name: r, filter_list: web, filter_action: sec, tunnel: 192.0.2.1, tcp_mss_clamp: big }\n",
		"t.yaml:10:88: tcp_mss_clamp must be a whole number, got 'big'" },
	{ BASE "rules:\n  - { name: a, filter_list: web, filter_action: sec, tunnel: 192.0.2.1 }\n"
	       "  - { name: b, filter_list: web, filter_action: sec, tunnel: 192.0.2.1 }\n",
		"t.yaml:11:62: rule 'b' tunnels to the same endpoint as rule 'a' (line 10): one rule per tunnel "
		"endpoint; put all its networks in that rule's filter list" },
	{ BASE "rules:\n  - { name: r, filter_list: web, filter_action: ok, dpd_delay: 10s }\n",
		"t.yaml:10:53: dpd_delay applies only to rules whose action negotiates ('ok' is permit)" },
	{ BASE "rules:\n  - { name: r, filter_list: web, filter_action: sec, dpd_delay: 0 }\n",
		"t.yaml:10:65: dpd_delay must be between 1 and 86400 seconds, got '0'" },
	{ BASE "rules:\n  - { name: r, filter_list: web, filter_action: ok, udp_encap: always }\n",
		"t.yaml:10:53: udp_encap applies only to rules whose action negotiates ('ok' is permit)" },
	{ BASE "rules:\n  - { name: r, filter_list: web, filter_action: sec, udp_encap: forced }\n",
		"t.yaml:10:65: unknown udp_encap 'forced' (expected auto or always)" },
	{ BASE "ike: { udp_encap: [always] }\n",
		"t.yaml:9:19: udp_encap must be a scalar, got a sequence" },
	{ BASE "rules:\n  - { name: r, filter_list: web, filter_action: sec, dpd_delay: soon }\n",
		"t.yaml:10:65: dpd_delay must be a number with an optional unit (s, m, h, d), got 'soon'" },
	{ "default_response: true\n", "t.yaml:1:19: default_response needs auth or psk_file at top level" },
	/* 11. IKE settings */
	{ "ike:\n  retransmit:\n    attempts: 0\n", "t.yaml:3:15: attempts must be between 1 and 16, got 0" },
	{ "ike:\n  retransmit:\n    delays_ms: [1, 2]\n", "t.yaml:3:5: bad retransmit schedule: each retransmit delay must be between 10 ms and 60 s" },
	{ "ike:\n  retransmit:\n    delay_ms: [100]\n", "t.yaml:3:5: unknown key 'delay_ms' in retransmit (did you mean 'delays_ms'?)" },
	{ "ike:\n  proposals: [aes256gcm16-sha256-ecp384]\n", "t.yaml:2:15: bad IKE proposal 'aes256gcm16-sha256-ecp384' (expected ENCR[-INTEG][-PRF]-DH, like aes256gcm16-prfsha384-ecp384 or aes128-sha256-modp2048)" },
	{ "ike:\n  proposals: [aes128-modp2048]\n", "t.yaml:2:15: bad IKE proposal 'aes128-modp2048' (expected ENCR[-INTEG][-PRF]-DH, like aes256gcm16-prfsha384-ecp384 or aes128-sha256-modp2048)" },
	/* 12. built-in policies */
	{ "builtin: servr\n", "t.yaml:1:10: unknown built-in policy 'servr' (did you mean 'server'?)" },
	{ "builtin: server\n", "t.yaml:1:1: built-in policy 'server' needs a pre-shared key: add psk_file (or run with --psk-file)" },
	{ "builtin: client\nauth: [{psk: 0123456789abcdef}]\nrules: []\n", "t.yaml:3:1: 'rules' cannot be combined with builtin (copy examples/builtin-client.yaml to change a built-in policy)" },
};

static void each_row_fails_with_its_exact_error(void **state)
{
	(void)state;
	int bad = 0;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		ss_load_error err;
		ss_policy *p = tl_load(rows[i].yaml, &err);
		if (p) {
			printf("row %zu: loaded, expected: %s\n", i + 1, rows[i].error);
			ss_policy_free(p);
			bad++;
		} else if (strcmp(err.text, rows[i].error) != 0) {
			printf("row %zu:\n  got:      %s\n  expected: %s\n", i + 1, err.text, rows[i].error);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

/* The error's parts agree with its text. */
static void error_fields(void **state)
{
	(void)state;
	ss_load_error err;
	assert_null(tl_load("filter_lists:\n  a:\n    - proto: tpc\n", &err));
	assert_string_equal(err.file, "t.yaml");
	assert_int_equal(err.line, 3);
	assert_int_equal(err.col, 14);
	assert_string_equal(err.msg, "unknown protocol 'tpc' (did you mean 'tcp'?)");
}

static char tmpdir[64];

static void write_file(const char *name, const char *text)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void psk_file_errors(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ssp-loadXXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	write_file("short.psk", "short\n");
	ss_load_opts o = tl_opts(tmpdir);
	ss_load_error err;
	const char *y = "psk_file: short.psk\n";
	assert_null(ss_policy_load_mem("t.yaml", y, strlen(y), &o, &err));
	assert_string_equal(err.text, "t.yaml:1:11: pre-shared key is too short: 5 bytes, at least 16 needed");
	y = "auth:\n  - psk_file: missing.psk\n";
	assert_null(ss_policy_load_mem("t.yaml", y, strlen(y), &o, &err));
	char want[256];
	snprintf(want, sizeof(want), "t.yaml:2:15: cannot read psk_file '%s/missing.psk': No such file or directory", tmpdir);
	assert_string_equal(err.text, want);
	/* Over the size limit. */
	char big[1100];
	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	write_file("big.psk", big);
	y = "psk_file: big.psk\n";
	assert_null(ss_policy_load_mem("t.yaml", y, strlen(y), &o, &err));
	snprintf(want, sizeof(want), "t.yaml:1:11: psk_file '%s/big.psk' is larger than 1024 bytes", tmpdir);
	assert_string_equal(err.text, want);
	/* The CLI's --psk-file has no position in the policy file. */
	o.psk_file = "/nonexistent/softsa.psk";
	y = "name: x\n";
	assert_null(ss_policy_load_mem("t.yaml", y, strlen(y), &o, &err));
	assert_string_equal(err.text, "t.yaml: cannot read psk_file '/nonexistent/softsa.psk': No such file or directory");
	/* Key files not read (fuzzing, checking without the keys): a placeholder key. */
	o = tl_opts(tmpdir);
	o.skip_key_files = true;
	y = "psk_file: short.psk\nauth_x: 1\n";
	assert_null(ss_policy_load_mem("t.yaml", y, strlen(y), &o, &err));
	assert_string_equal(err.text, "t.yaml:2:1: unknown key 'auth_x' in policy (did you mean 'auth'?)");
	y = "psk_file: /nonexistent/short.psk\n";
	ss_policy *p = ss_policy_load_mem("t.yaml", y, strlen(y), &o, &err);
	assert_non_null(p);
	assert_int_equal(p->auth[0].secret_len, SS_PSK_PLACEHOLDER_LEN);
	ss_policy_free(p);
	char path[128];
	snprintf(path, sizeof(path), "%s/short.psk", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/big.psk", tmpdir);
	unlink(path);
	rmdir(tmpdir);
}

/* Key files anyone else could have written are refused (they could hold an attacker's key);
 * FIFOs and devices are refused without blocking; readable-by-others loads with a warning. */
static void psk_file_trust(void **state)
{
	(void)state;
	char dir[64], path[160], want[512];
	snprintf(dir, sizeof(dir), "/tmp/ssp-trustXXXXXX");
	assert_non_null(mkdtemp(dir));
	ss_load_opts o = tl_opts(dir);
	ss_load_error err;
	const char *y = "psk_file: k.psk\n";
	snprintf(path, sizeof(path), "%s/k.psk", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("0123456789abcdef0123\n", f);
	fclose(f);
	/* Group- or world-writable: refused. */
	assert_int_equal(chmod(path, 0620), 0);
	assert_null(ss_policy_load_mem("t.yaml", y, strlen(y), &o, &err));
	snprintf(want, sizeof(want), "t.yaml:1:11: psk_file '%s' is writable by group or others (mode 0620): refused, chmod go-w it", path);
	assert_string_equal(err.text, want);
	assert_int_equal(chmod(path, 0602), 0);
	assert_null(ss_policy_load_mem("t.yaml", y, strlen(y), &o, &err));
	/* Readable by others: loads (a key file checked out of git is 0644). */
	assert_int_equal(chmod(path, 0644), 0);
	ss_policy *p = ss_policy_load_mem("t.yaml", y, strlen(y), &o, &err);
	assert_non_null(p);
	ss_policy_free(p);
	assert_int_equal(chmod(path, 0600), 0);
	p = ss_policy_load_mem("t.yaml", y, strlen(y), &o, &err);
	assert_non_null(p);
	assert_int_equal(p->auth[0].secret_len, 20);
	ss_policy_free(p);
	unlink(path);
	/* A FIFO with no writer would block a plain open() forever. */
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_null(ss_policy_load_mem("t.yaml", y, strlen(y), &o, &err));
	snprintf(want, sizeof(want), "t.yaml:1:11: psk_file '%s' is not a regular file", path);
	assert_string_equal(err.text, want);
	unlink(path);
	/* A device: endless zeros are not a key. */
	y = "psk_file: /dev/zero\n";
	assert_null(ss_policy_load_mem("t.yaml", y, strlen(y), &o, &err));
	assert_string_equal(err.text, "t.yaml:1:11: psk_file '/dev/zero' is not a regular file");
	/* A path too long for the buffer is refused, not truncated into another path. */
	char longy[4300];
	memset(longy, 'a', sizeof(longy));
	memcpy(longy, "psk_file: ", 10);
	longy[sizeof(longy) - 2] = '\n';
	longy[sizeof(longy) - 1] = 0;
	assert_null(ss_policy_load_mem("t.yaml", longy, strlen(longy), &o, &err));
	assert_string_equal(err.text, "t.yaml:1:11: psk_file path is longer than 4095 bytes");
	rmdir(dir);
}

/* A syntax error right after an inline key: libyaml scanned the key ahead (a possible simple
 * key needs lookahead) and still holds it in its token queue, which yaml_parser_delete()
 * frees without wiping; the loader wipes it first. */
static void yaml_lookahead_token_wiped(void **state)
{
	(void)state;
	static const char secret[] = "SECRETkey0123456789";
	const char *y = "\"SECRETkey0123456789\" `\n";
	yaml_parser_t p;
	assert_true(yaml_parser_initialize(&p));
	yaml_parser_set_input_string(&p, (const unsigned char *)y, strlen(y));
	yaml_event_t e;
	bool failed = false;
	for (int i = 0; i < 8 && !failed; i++) {
		if (!yaml_parser_parse(&p, &e))
			failed = true;
		else
			yaml_event_delete(&e);
	}
	assert_true(failed);
	yaml_token_t *held = NULL;
	for (yaml_token_t *t = p.tokens.head; t < p.tokens.tail; t++)
		if (t->type == YAML_SCALAR_TOKEN && t->data.scalar.length == strlen(secret) &&
		    memcmp(t->data.scalar.value, secret, strlen(secret)) == 0)
			held = t;
	assert_non_null(held); /* the premise: libyaml holds the key in its queue */
	yn_wipe_tokens(&p);
	for (size_t i = 0; i < held->data.scalar.length; i++)
		assert_int_equal(held->data.scalar.value[i], 0);
	yaml_parser_delete(&p);
	/* And through the loader: the error is reported as before. */
	ss_load_error err;
	assert_null(tl_load(y, &err));
	assert_non_null(strstr(err.text, "YAML syntax error"));
}

/* ike/ike.h cannot be included next to policy.h; tests/unit/ike pins SS_IKE_PSK_MAX the same. */
_Static_assert(SS_PSK_MAX_LEN == 128, "the loader must accept no key longer than SS_IKE_PSK_MAX");

/* A key longer than IKE holds is refused, not cut short (which would authenticate with a
 * prefix of it and fail against a peer using all of it). */
static void psk_too_long(void **state)
{
	(void)state;
	char y[400], want[200];
	memset(y, 'k', sizeof(y));
	int n = snprintf(y, sizeof(y), "auth:\n  - psk: ");
	y[n] = 'k'; /* over snprintf's NUL */
	y[n + SS_PSK_MAX_LEN + 1] = '\n';
	y[n + SS_PSK_MAX_LEN + 2] = 0;
	ss_load_error err;
	assert_null(ss_policy_load_mem("t.yaml", y, strlen(y), NULL, &err));
	snprintf(want, sizeof(want), "t.yaml:2:10: pre-shared key is too long: %d bytes, at most %d supported",
		 SS_PSK_MAX_LEN + 1, SS_PSK_MAX_LEN);
	assert_string_equal(err.text, want);
	y[n + SS_PSK_MAX_LEN] = '\n';
	y[n + SS_PSK_MAX_LEN + 1] = 0;
	ss_policy *p = ss_policy_load_mem("t.yaml", y, strlen(y), NULL, &err);
	assert_non_null(p); /* 128 bytes are fine */
	assert_int_equal(p->auth[0].secret_len, SS_PSK_MAX_LEN);
	ss_policy_free(p);
}

static void file_errors(void **state)
{
	(void)state;
	ss_load_error err;
	assert_null(ss_policy_load_file("/nonexistent/policy.yaml", NULL, &err));
	assert_string_equal(err.text, "/nonexistent/policy.yaml: cannot read: No such file or directory");
	assert_null(ss_policy_load_file("/", NULL, &err));
	assert_string_equal(err.text, "/: not a regular file");
	assert_null(ss_policy_builtin("nope", NULL, &err));
	assert_string_equal(err.text, "--builtin nope: unknown built-in policy (expected client, server or secure-server)");
	assert_null(ss_policy_builtin("server", NULL, &err));
	assert_string_equal(err.text, "--builtin server: built-in policy 'server' needs a pre-shared key: add psk_file (or run with --psk-file)");
}

static void dns_off(void **state)
{
	(void)state;
	ss_load_opts o = { .no_resolve = true };
	ss_load_error err;
	const char *y = "filter_lists:\n  a:\n    - dst: www.example.com\n";
	assert_null(ss_policy_load_mem("t.yaml", y, strlen(y), &o, &err));
	assert_string_equal(err.text, "t.yaml:3:12: dst: DNS name 'www.example.com' not resolved (name resolution is off)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(each_row_fails_with_its_exact_error),
		cmocka_unit_test(error_fields),
		cmocka_unit_test(psk_file_errors),
		cmocka_unit_test(psk_file_trust),
		cmocka_unit_test(yaml_lookahead_token_wiped),
		cmocka_unit_test(psk_too_long),
		cmocka_unit_test(file_errors),
		cmocka_unit_test(dns_off),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
