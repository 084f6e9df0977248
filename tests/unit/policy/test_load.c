/* The loader builds the model the file describes: every field, every default, DNS names
 * expanded, secrets read, built-ins equal to their written-out examples, and every example
 * file valid. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "policy/classify.h"
#include "policy/load.h"
#include "tload.h"

static const char *examples_dir = "examples";

static ss_prefix pfx(const char *s)
{
	ss_prefix p;
	assert_true(ss_prefix_parse(s, &p, false, NULL));
	return p;
}

static void assert_prefix(const ss_endpoint *e, const char *s)
{
	ss_prefix want = pfx(s);
	assert_int_equal(e->kind, SS_EP_PREFIX);
	assert_true(ss_addr_eq(&e->prefix.addr, &want.addr));
	assert_int_equal(e->prefix.len, want.len);
}

static void full_model(void **state)
{
	(void)state;
	ss_load_error err;
	ss_policy *p = tl_load(
		"name: full\n"
		"description: all fields\n"
		"filter_lists:\n"
		"  l:\n"
		"    - src: 10.0.0.0/8\n"
		"      dst: 2001:db8::/32\n"
		"      proto: tcp\n"
		"      src_port: 1024-65535\n"
		"      dst_port: 443\n"
		"      mirrored: false\n"
		"      description: d\n",
		&err);
	/* Mixed families cannot match: the row above must fail; the real model test follows. */
	assert_null(p);
	p = tl_load(
		"name: full\n"
		"description: all fields\n"
		"filter_lists:\n"
		"  l:\n"
		"    - src: 10.0.0.0/8\n"
		"      dst: 192.0.2.7\n"
		"      proto: tcp\n"
		"      src_port: 1024-65535\n"
		"      dst_port: 443\n"
		"      mirrored: false\n"
		"      description: d\n"
		"filter_actions:\n"
		"  n:\n"
		"    action: negotiate\n"
		"    methods:\n"
		"      - aes128gcm16\n"
		"      - { esp: aes256-sha512, lifetime: 2h, lifetime_bytes: 512M }\n"
		"    pfs: ecp256\n"
		"    accept_unsecured: yes\n"
		"    fallback_to_clear: true\n"
		"    discovery: true\n"
		"    fallback_after_secured: true\n"
		"    soft_idle_lifetime: 10m\n"
		"    icmp_fallback: full\n"
		"rules:\n"
		"  - name: r\n"
		"    filter_list: l\n"
		"    filter_action: n\n"
		"    tunnel: 2001:db8::2\n"
		"    tcp_mss_clamp: 1300\n"
		"    dpd_delay: 2m\n"
		"    udp_encap: auto\n"
		"    auth:\n"
		"      - { psk: 0123456789abcdefXYZ, local_id: 192.0.2.1, remote_id: keyid:k7 }\n"
		"      - { psk: 0123456789abcdef, local_id: a.example, remote_id: fqdn:b.example }\n"
		"default_response: false\n"
		"ike:\n"
		"  proposals: [aes128-sha384-ecp256, aes256gcm16-prfsha512-modp2048]\n"
		"  lifetime: 1h\n"
		"  udp_encap: always\n"
		"  retransmit: { attempts: 3, delays_ms: [200, 400], final_wait_ms: 800, icmp_gap_ms: 50, min_fallback_ms: 100 }\n"
		"downgrade_protection: 2d\n",
		NULL);
	assert_non_null(p);
	assert_string_equal(p->name, "full");
	assert_string_equal(p->description, "all fields");
	assert_string_equal(p->source, "t.yaml");
	assert_int_equal(p->n_lists, 1);
	const ss_filter_list *l = &p->lists[0];
	assert_string_equal(l->name, "l");
	assert_int_equal(l->n_filters, 1);
	const ss_filter *f = &l->filters[0];
	assert_prefix(&f->src, "10.0.0.0/8");
	assert_prefix(&f->dst, "192.0.2.7");
	assert_int_equal(f->proto, 6);
	assert_int_equal(f->sport.lo, 1024);
	assert_int_equal(f->sport.hi, 65535);
	assert_int_equal(f->dport.lo, 443);
	assert_int_equal(f->dport.hi, 443);
	assert_false(f->mirrored);
	assert_string_equal(f->description, "d");
	assert_int_equal(f->loc.line, 5);
	assert_int_equal(f->loc.col, 7);

	const ss_filter_action *a = &p->actions[0];
	assert_int_equal(a->kind, SS_ACT_NEGOTIATE);
	assert_int_equal(a->n_methods, 2);
	assert_int_equal(a->methods[0].encr, SS_ENCR_AES_GCM_16);
	assert_int_equal(a->methods[0].key_bits, 128);
	assert_int_equal(a->methods[0].integ, SS_INTEG_NONE);
	assert_int_equal(a->methods[0].life_seconds, 3600);
	assert_int_equal(a->methods[1].encr, SS_ENCR_AES_CBC);
	assert_int_equal(a->methods[1].key_bits, 256);
	assert_int_equal(a->methods[1].integ, SS_INTEG_HMAC_SHA2_512_256);
	assert_int_equal(a->methods[1].life_seconds, 7200);
	assert_int_equal(a->methods[1].life_bytes, 512ull << 20);
	assert_int_equal(a->pfs_group, SS_DH_ECP_256);
	assert_true(a->accept_unsecured && a->fallback_to_clear && a->discovery && a->fallback_after_secured);
	assert_int_equal(a->soft_idle_lifetime, 600);
	/* full: no decision before the whole silent schedule (this file's: 1.4 s). */
	assert_int_equal(a->icmp_fallback, SS_ICMP_FALLBACK_FULL);
	assert_int_equal(ss_action_retx(p, a).min_fallback_ms, ss_retx_silent_decision(&p->ike.retx));
	assert_int_equal(ss_action_retx(p, a).min_fallback_ms, 1400);
	assert_int_equal(ss_action_retx(p, NULL).min_fallback_ms, p->ike.retx.min_fallback_ms);

	const ss_rule *r = &p->rules[0];
	assert_ptr_equal(r->list, l);
	assert_ptr_equal(r->action, a);
	assert_true(r->tunnel);
	ss_addr t;
	assert_true(ss_addr_parse("2001:db8::2", &t));
	assert_true(ss_addr_eq(&r->tunnel_endpoint, &t));
	assert_int_equal(r->tcp_mss_clamp, 1300);
	/* The endpoint's pair belongs to this rule; any other address to none. */
	assert_ptr_equal(ss_policy_tunnel_rule(p, &t), r);
	ss_addr other;
	assert_true(ss_addr_parse("2001:db8::3", &other));
	assert_null(ss_policy_tunnel_rule(p, &other));
	assert_int_equal(r->dpd_delay, 120);
	assert_int_equal(ss_rule_dpd_delay(r), 120);
	/* The rule's own auto wins over the policy's always. */
	assert_int_equal(p->ike.udp_encap, SS_UDP_ENCAP_ALWAYS);
	assert_int_equal(r->udp_encap, SS_UDP_ENCAP_AUTO);
	assert_false(ss_rule_udp_encap_always(p, r));
	assert_true(ss_rule_udp_encap_always(p, NULL));
	assert_int_equal(r->n_auth, 2);
	assert_int_equal(r->auth[0].secret_len, 19);
	assert_memory_equal(r->auth[0].secret, "0123456789abcdefXYZ", 19);
	assert_int_equal(r->auth[0].local_id.type, SS_ID_IPV4_ADDR);
	assert_string_equal(r->auth[0].local_id.value, "192.0.2.1");
	assert_int_equal(r->auth[0].remote_id.type, SS_ID_KEY_ID);
	assert_string_equal(r->auth[0].remote_id.value, "k7");
	assert_int_equal(r->auth[1].local_id.type, SS_ID_FQDN);
	assert_string_equal(r->auth[1].local_id.value, "a.example");
	assert_int_equal(r->auth[1].remote_id.type, SS_ID_FQDN);
	assert_string_equal(r->auth[1].remote_id.value, "b.example");

	assert_false(p->default_response);
	assert_int_equal(p->ike.n_proposals, 2);
	char b[64];
	assert_string_equal(ss_ike_method_fmt(&p->ike.proposals[0], b, sizeof(b)), "aes128-sha384-prfsha384-ecp256");
	assert_string_equal(ss_ike_method_fmt(&p->ike.proposals[1], b, sizeof(b)), "aes256gcm16-prfsha512-modp2048");
	assert_int_equal(p->ike.lifetime, 3600);
	assert_int_equal(p->ike.retx.attempts, 3);
	assert_int_equal(p->ike.retx.n_delays, 2);
	assert_int_equal(p->ike.retx.delay_ms[1], 400);
	assert_int_equal(p->ike.retx.final_wait_ms, 800);
	assert_int_equal(p->ike.retx.icmp_gap_ms, 50);
	assert_int_equal(p->ike.retx.min_fallback_ms, 100);
	assert_int_equal(p->downgrade_protection, 2 * 86400);
	ss_policy_free(p);
}

static void defaults(void **state)
{
	(void)state;
	ss_load_error err;
	ss_policy *p = tl_load("psk_file: /dev/null\n", &err);
	assert_null(p); /* a device is not a key file */
	assert_string_equal(err.text, "t.yaml:1:11: psk_file '/dev/null' is not a regular file");
	p = tl_load(
		"auth: [{ psk: 0123456789abcdef }]\n"
		"filter_lists:\n  l: [{}]\n"
		"filter_actions:\n  n: { action: negotiate }\n"
		"rules:\n  - { name: r, filter_list: l, filter_action: n }\n",
		NULL);
	assert_non_null(p);
	assert_string_equal(p->name, "t.yaml");
	const ss_filter *f = &p->lists[0].filters[0];
	assert_int_equal(f->src.kind, SS_EP_ME);
	assert_int_equal(f->dst.kind, SS_EP_ANY);
	assert_int_equal(f->proto, SS_PROTO_ANY);
	assert_int_equal(f->sport.lo, 0);
	assert_int_equal(f->sport.hi, 65535);
	assert_int_equal(f->dport.hi, 65535);
	assert_true(f->mirrored);
	const ss_filter_action *a = &p->actions[0];
	assert_int_equal(a->n_methods, 3);
	char b[32];
	assert_string_equal(ss_sec_method_fmt(&a->methods[0], b, sizeof(b)), "aes256gcm16");
	assert_string_equal(ss_sec_method_fmt(&a->methods[1], b, sizeof(b)), "aes128gcm16");
	assert_string_equal(ss_sec_method_fmt(&a->methods[2], b, sizeof(b)), "aes256-sha256");
	assert_int_equal(a->pfs_group, SS_DH_NONE);
	assert_false(a->accept_unsecured || a->fallback_to_clear || a->discovery || a->fallback_after_secured);
	assert_int_equal(a->soft_idle_lifetime, 300);
	assert_int_equal(a->icmp_fallback, SS_ICMP_FALLBACK_FAST);
	assert_int_equal(ss_rule_dpd_delay(&p->rules[0]), SS_DEFAULT_DPD_DELAY);
	assert_int_equal(p->rules[0].udp_encap, SS_UDP_ENCAP_INHERIT);
	assert_int_equal(p->ike.udp_encap, SS_UDP_ENCAP_AUTO);
	assert_false(ss_rule_udp_encap_always(p, &p->rules[0]));
	/* Policy-wide auth is copied into the rule and into the Default Response rule. */
	assert_int_equal(p->rules[0].n_auth, 1);
	assert_memory_equal(p->rules[0].auth[0].secret, "0123456789abcdef", 16);
	assert_ptr_not_equal(p->rules[0].auth[0].secret, p->auth[0].secret);
	assert_true(p->default_response);
	assert_int_equal(p->n_default_response_auth, 1);
	assert_int_equal(p->ike.n_proposals, 3);
	assert_int_equal(p->ike.lifetime, 28800);
	assert_int_equal(p->ike.retx.attempts, 4);
	assert_int_equal(ss_retx_silent_decision(&p->ike.retx), 3000);
	assert_int_equal(p->downgrade_protection, 7 * 86400);
	ss_policy_free(p);

	p = tl_load("auth: [{ psk: 0123456789abcdef }]\n"
		    "filter_lists:\n  l: [{}]\n"
		    "filter_actions:\n  n: { action: negotiate }\n"
		    "rules:\n  - { name: r, filter_list: l, filter_action: n, dpd_delay: never, udp_encap: always }\n",
		    NULL);
	assert_non_null(p);
	assert_int_equal(ss_rule_dpd_delay(&p->rules[0]), 0);
	assert_true(ss_rule_udp_encap_always(p, &p->rules[0]));
	assert_false(ss_rule_udp_encap_always(p, NULL)); /* the Default Response rule: the policy's auto */
	ss_policy_free(p);

	/* No auth anywhere: no Default Response. */
	p = tl_load("name: plain\n", NULL);
	assert_false(p->default_response);
	assert_int_equal(p->n_rules, 0);
	ss_policy_free(p);
}

static void dns_names_expand(void **state)
{
	(void)state;
	ss_policy *p = tl_load(
		"filter_lists:\n"
		"  a:\n"
		"    - { dst: multi.test, proto: udp, dst_port: 53 }\n"  /* 3 addresses: 3 filters */
		"    - { src: v4.test, dst: multi.test }\n"              /* IPv4 pairs only: 2 */
		"    - { dst: multi.test, proto: icmpv6 }\n",            /* IPv6 only: 1 */
		NULL);
	assert_non_null(p);
	const ss_filter_list *l = &p->lists[0];
	assert_int_equal(l->n_filters, 6);
	assert_prefix(&l->filters[0].dst, "192.0.2.1");
	assert_prefix(&l->filters[1].dst, "192.0.2.2");
	assert_prefix(&l->filters[2].dst, "2001:db8::1");
	for (int i = 0; i < 3; i++) {
		assert_int_equal(l->filters[i].proto, 17);
		assert_int_equal(l->filters[i].dport.lo, 53);
		assert_int_equal(l->filters[i].loc.line, 3); /* all at the filter's place in the file */
	}
	assert_prefix(&l->filters[3].src, "198.51.100.7");
	assert_prefix(&l->filters[3].dst, "192.0.2.1");
	assert_prefix(&l->filters[4].dst, "192.0.2.2");
	assert_prefix(&l->filters[5].dst, "2001:db8::1");
	assert_int_equal(l->filters[5].proto, 58);
	ss_policy_free(p);
}

static void units_and_booleans(void **state)
{
	(void)state;
	static const struct { const char *v; uint32_t secs; } d[] = {
		{ "90", 90 }, { "90s", 90 }, { "2m", 120 }, { "1h", 3600 }, { "1d", 86400 }, { "0", 0 },
	};
	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		char y[64];
		snprintf(y, sizeof(y), "downgrade_protection: %s\n", d[i].v);
		ss_policy *p = tl_load(y, NULL);
		assert_int_equal(p->downgrade_protection, d[i].secs);
		ss_policy_free(p);
	}
	ss_policy *p = tl_load("filter_lists:\n  a:\n    - { mirrored: no }\n    - { mirrored: True }\n", NULL);
	assert_false(p->lists[0].filters[0].mirrored);
	assert_true(p->lists[0].filters[1].mirrored);
	ss_policy_free(p);
}

/* Same model, ignoring where things were written. */
static void assert_same_policy(const ss_policy *a, const ss_policy *b)
{
	assert_int_equal(a->n_lists, b->n_lists);
	for (size_t i = 0; i < a->n_lists; i++) {
		assert_string_equal(a->lists[i].name, b->lists[i].name);
		assert_int_equal(a->lists[i].n_filters, b->lists[i].n_filters);
		for (size_t j = 0; j < a->lists[i].n_filters; j++) {
			ss_filter x = a->lists[i].filters[j], y = b->lists[i].filters[j];
			assert_memory_equal(&x.src, &y.src, sizeof(x.src));
			assert_memory_equal(&x.dst, &y.dst, sizeof(x.dst));
			assert_int_equal(x.proto, y.proto);
			assert_int_equal(x.mirrored, y.mirrored);
		}
	}
	assert_int_equal(a->n_actions, b->n_actions);
	for (size_t i = 0; i < a->n_actions; i++) {
		const ss_filter_action *x = &a->actions[i], *y = &b->actions[i];
		assert_string_equal(x->name, y->name);
		assert_int_equal(x->kind, y->kind);
		assert_int_equal(x->n_methods, y->n_methods);
		assert_int_equal(x->accept_unsecured, y->accept_unsecured);
		assert_int_equal(x->fallback_to_clear, y->fallback_to_clear);
		assert_int_equal(x->discovery, y->discovery);
	}
	assert_int_equal(a->n_rules, b->n_rules);
	for (size_t i = 0; i < a->n_rules; i++) {
		assert_string_equal(a->rules[i].name, b->rules[i].name);
		assert_string_equal(a->rules[i].list->name, b->rules[i].list->name);
		assert_string_equal(a->rules[i].action->name, b->rules[i].action->name);
		assert_int_equal(a->rules[i].n_auth, b->rules[i].n_auth);
	}
	assert_int_equal(a->default_response, b->default_response);
	assert_string_equal(a->name, b->name);
}

static void builtins(void **state)
{
	(void)state;
	char psk[512];
	snprintf(psk, sizeof(psk), "%s/example.psk", examples_dir);
	ss_load_opts o = { .psk_file = psk };
	ss_load_error err;
	for (size_t i = 0; ss_builtin_names[i]; i++) {
		const char *name = ss_builtin_names[i];
		ss_policy *p = ss_policy_builtin(name, &o, &err);
		if (!p)
			fail_msg("%s", err.text);
		assert_string_equal(p->builtin, name);
		assert_true(p->default_response);
		assert_int_equal(p->n_default_response_auth, 1);
		char path[512];
		snprintf(path, sizeof(path), "%s/builtin-%s.yaml", examples_dir, name);
		ss_policy *q = ss_policy_load_file(path, NULL, &err);
		if (!q)
			fail_msg("%s", err.text);
		assert_same_policy(p, q);
		ss_policy_free(q);
		ss_classifier *c = ss_classifier_build(p);
		ss_match m;
		ss_pkt_key k = { .dir = SS_DIR_OUT, .proto = 6, .sport = 40000, .dport = 80 };
		assert_true(ss_addr_parse("192.0.2.1", &k.src));
		assert_true(ss_addr_parse("198.51.100.9", &k.dst));
		bool hit = ss_classify(c, &k, &m);
		ss_pkt_key icmp = k;
		icmp.proto = 1;
		icmp.sport = icmp.dport = 0;
		ss_match mi;
		bool hit_icmp = ss_classify(c, &icmp, &mi);
		if (strcmp(name, "client") == 0) {
			/* Respond Only: nothing matches, the Default Response rule answers. */
			assert_int_equal(p->n_rules, 0);
			assert_false(hit);
			assert_false(hit_icmp);
		} else {
			bool secure = strcmp(name, "secure-server") == 0;
			assert_true(hit);
			assert_int_equal(m.rule->action->kind, SS_ACT_NEGOTIATE);
			assert_int_equal(m.rule->action->accept_unsecured, !secure);
			assert_int_equal(m.rule->action->fallback_to_clear, !secure);
			assert_false(m.rule->action->discovery);
			assert_int_equal(m.rule->n_auth, 1);
			assert_true(hit_icmp);
			assert_int_equal(mi.rule->action->kind, SS_ACT_PERMIT);
		}
		ss_classifier_free(c);
		ss_policy_free(p);
	}
	/* A file may start from a built-in and add to it. */
	snprintf(psk, sizeof(psk), "%s/use-builtin.yaml", examples_dir);
	ss_policy *p = ss_policy_load_file(psk, NULL, &err);
	if (!p)
		fail_msg("%s", err.text);
	assert_string_equal(p->builtin, "server");
	assert_int_equal(p->downgrade_protection, 86400);
	assert_int_equal(p->n_rules, 2);
	ss_policy_free(p);
}

static void psk_file_newline_stripped(void **state)
{
	(void)state;
	char path[512];
	snprintf(path, sizeof(path), "%s/auth.yaml", examples_dir);
	ss_load_error err;
	ss_policy *p = ss_policy_load_file(path, NULL, &err);
	if (!p)
		fail_msg("%s", err.text);
	static const char key[] = "example-only-psk-change-me-0123456789";
	assert_int_equal(p->n_auth, 1);
	assert_int_equal(p->auth[0].secret_len, sizeof(key) - 1);
	assert_memory_equal(p->auth[0].secret, key, sizeof(key) - 1);
	assert_string_equal(p->auth[0].local_id.value, "host-a.example.com");
	/* branch inherits the policy-wide auth; partners has its own two. */
	assert_int_equal(p->rules[0].n_auth, 2);
	assert_int_equal(p->rules[1].n_auth, 1);
	assert_memory_equal(p->rules[1].auth[0].secret, key, sizeof(key) - 1);
	ss_policy_free(p);
}

/* Most specific wins, as examples/ordering.yaml's comment promises. */
static void ordering_example(void **state)
{
	(void)state;
	char path[512];
	snprintf(path, sizeof(path), "%s/ordering.yaml", examples_dir);
	ss_load_error err;
	ss_policy *p = ss_policy_load_file(path, NULL, &err);
	if (!p)
		fail_msg("%s", err.text);
	ss_classifier *c = ss_classifier_build(p);
	static const struct { const char *dst; uint8_t proto; uint16_t dport; const char *rule; } t[] = {
		{ "10.0.0.5", 6, 22, "admin-ssh" },
		{ "10.0.0.5", 6, 80, "admin-host" },
		{ "10.0.0.5", 17, 0, "admin-host" },
		{ "10.9.9.9", 6, 22, "corp" },
		{ "8.8.8.8", 6, 22, NULL },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ss_pkt_key k = { .dir = SS_DIR_OUT, .proto = t[i].proto, .sport = t[i].dport ? 5555 : 0, .dport = t[i].dport };
		assert_true(ss_addr_parse("192.168.1.2", &k.src));
		assert_true(ss_addr_parse(t[i].dst, &k.dst));
		ss_match m;
		bool hit = ss_classify(c, &k, &m);
		if (!t[i].rule) {
			assert_false(hit);
			continue;
		}
		assert_true(hit);
		assert_string_equal(m.rule->name, t[i].rule);
	}
	ss_classifier_free(c);
	ss_policy_free(p);
}

static void every_example_is_valid(void **state)
{
	(void)state;
	DIR *d = opendir(examples_dir);
	assert_non_null(d);
	int n = 0;
	for (struct dirent *e; (e = readdir(d));) {
		size_t len = strlen(e->d_name);
		if (len < 6 || strcmp(e->d_name + len - 5, ".yaml") != 0)
			continue;
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", examples_dir, e->d_name);
		ss_load_error err;
		ss_policy *p = ss_policy_load_file(path, NULL, &err);
		if (!p)
			fail_msg("%s", err.text);
		ss_policy_free(p);
		n++;
	}
	closedir(d);
	assert_true(n >= 12);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		examples_dir = argv[1];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(full_model),
		cmocka_unit_test(defaults),
		cmocka_unit_test(dns_names_expand),
		cmocka_unit_test(units_and_booleans),
		cmocka_unit_test(builtins),
		cmocka_unit_test(psk_file_newline_stripped),
		cmocka_unit_test(ordering_example),
		cmocka_unit_test(every_example_is_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
