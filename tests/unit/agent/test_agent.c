/* The agent's core, event by event, without the simulator: the transition table (every
 * pair), the log line of a change, refused illegal moves, the action stream of the main
 * paths, global hold bounds, the watchdog, stale outcomes, a full table, reloads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/agent_core.h"
#include "base/log.h"
#include "simpol.h"

static char last_log[512];
static int errors;

static void sink(void *ctx, enum ss_log_level lvl, const char *subsys, const char *msg)
{
	(void)ctx;
	(void)subsys;
	if (lvl == SS_LOG_ERR)
		errors++;
	if (lvl <= SS_LOG_INFO)
		snprintf(last_log, sizeof(last_log), "%s", msg);
}

static ss_addr A(const char *s)
{
	ss_addr a;
	assert_true(ss_addr_parse(s, &a));
	return a;
}

static ss_addr me, peer, peer2;

static ss_pkt_key out_key(const ss_addr *to)
{
	return (ss_pkt_key){ .dir = SS_DIR_OUT, .proto = 17, .sport = 4000, .dport = 53, .src = me, .dst = *to };
}

static ss_pkt_key in_key(const ss_addr *from)
{
	return (ss_pkt_key){ .dir = SS_DIR_IN, .proto = 17, .sport = 53, .dport = 4000, .src = *from, .dst = me };
}

typedef struct fixture {
	sim_policy *sp;
	ss_agent *ag;
} fixture;

static fixture make(const char *policy, const ss_agent_config *cfg)
{
	fixture f = { .sp = simpol_builtin(policy) };
	assert_non_null(f.sp);
	ss_agent_policy ap = simpol_agent_policy(f.sp);
	f.ag = ss_agent_new(cfg, &ap);
	assert_non_null(f.ag);
	return f;
}

static void done(fixture *f)
{
	ss_agent_free(f->ag);
	simpol_free(f->sp);
}

/* Pops the next action and checks its kind (and handle for packet actions). */
static ss_agent_action expect_action(ss_agent *ag, unsigned kind, uint64_t handle)
{
	ss_agent_action x;
	assert_true(ss_agent_pop(ag, &x));
	if (x.kind != kind)
		fail_msg("expected %s, got %s", ss_agent_action_name(kind), ss_agent_action_name(x.kind));
	if (handle)
		assert_int_equal(x.handle, handle);
	return x;
}

static void expect_none(ss_agent *ag)
{
	ss_agent_action x;
	if (ss_agent_pop(ag, &x))
		fail_msg("unexpected action %s", ss_agent_action_name(x.kind));
}

static void transition_table(void **state)
{
	(void)state;
	/* The full table, spelled out: rows from, columns to (idle negot secur soft block). */
	static const char *const want[SS_AS_COUNT] = {
		"01000", /* idle: only into a negotiation */
		"11111", /* negotiating: anything (including another attempt) */
		"10000", /* secured: only back to idle; never soft */
		"11000", /* soft: expires, or the peer starts IKE */
		"11000", /* blocked: back-off over, or the peer starts IKE */
	};
	for (unsigned f = 0; f < SS_AS_COUNT; f++)
		for (unsigned t = 0; t < SS_AS_COUNT; t++)
			assert_int_equal(ss_assoc_move_legal(f, t), want[f][t] == '1');
}

static void set_state_logs_and_refuses(void **state)
{
	(void)state;
	fixture f = make("server", NULL);
	ss_pkt_key k = out_key(&peer);
	ss_agent_outbound(f.ag, 0, &k, 100, 1);
	ss_agent_attempt(f.ag, 0, &me, &peer, 1);
	assert_string_equal(last_log, "10.0.0.1 -> 10.0.0.3: negotiating -> negotiating(1) (ike attempt sent)");
	ss_agent_outcome(f.ag, 40, &me, &peer, SS_IKE_SECURED);
	assert_string_equal(last_log, "10.0.0.1 -> 10.0.0.3: negotiating(1) -> secured (ike secured)");
	/* secured -> soft is a downgrade: refused, logged as an error, counted, no change. */
	uint32_t i = ss_at_find(&f.ag->t, &me, &peer);
	errors = 0;
	assert_false(ss_assoc_set_state(f.ag, ss_at_get(&f.ag->t, i), SS_AS_SOFT, 0, 50, "test"));
	assert_int_equal(errors, 1);
	assert_non_null(strstr(last_log, "refused illegal move secured -> soft"));
	enum ss_assoc_state st;
	assert_true(ss_agent_state(f.ag, &me, &peer, &st, NULL));
	assert_int_equal(st, SS_AS_SECURED);
	ss_agent_stats s;
	ss_agent_get_stats(f.ag, &s);
	assert_int_equal(s.illegal_transitions, 1);
	done(&f);
}

static void outbound_to_silent_peer_soft(void **state)
{
	(void)state;
	fixture f = make("server", NULL);
	ss_pkt_key k = out_key(&peer);
	ss_agent_outbound(f.ag, 0, &k, 100, 11);
	ss_agent_action x = expect_action(f.ag, SS_AA_START_NEGOTIATION, 0);
	assert_true(ss_addr_eq(&x.remote, &peer));
	assert_non_null(x.rule);
	expect_action(f.ag, SS_AA_HOLD, 11);
	ss_agent_outbound(f.ag, 10, &k, 100, 12);
	expect_action(f.ag, SS_AA_HOLD, 12);
	expect_none(f.ag);
	ss_agent_outcome(f.ag, 3000, &me, &peer, SS_IKE_PEER_SILENT);
	/* Released before the soft association is installed (which lets new packets pass). */
	expect_action(f.ag, SS_AA_RELEASE_CLEAR, 11);
	expect_action(f.ag, SS_AA_RELEASE_CLEAR, 12);
	x = expect_action(f.ag, SS_AA_SOFT_CREATE, 0);
	assert_int_equal(x.until, 3000 + 300000);
	expect_none(f.ag);
	assert_int_equal(ss_agent_deadline(f.ag), 303000);
	/* Traffic at 100 s: passes, refreshes (lazily: the first deadline stays, then moves). */
	ss_agent_outbound(f.ag, 100000, &k, 100, 13);
	expect_action(f.ag, SS_AA_SOFT_REFRESH, 0);
	expect_action(f.ag, SS_AA_PASS_CLEAR, 13);
	ss_agent_timer(f.ag, 303000);
	expect_none(f.ag);
	assert_int_equal(ss_agent_deadline(f.ag), 400000);
	ss_agent_timer(f.ag, 400000);
	expect_action(f.ag, SS_AA_SOFT_EXPIRE, 0);
	expect_none(f.ag);
	assert_false(ss_agent_state(f.ag, &me, &peer, NULL, NULL));
	assert_int_equal(ss_agent_deadline(f.ag), SS_NEVER);
	done(&f);
}

/* `initiate`: the negotiation starts as a first packet would start it, with nothing held. */
static void initiate_without_a_packet(void **state)
{
	(void)state;
	fixture f = make("server", NULL);
	assert_true(ss_agent_initiate(f.ag, 0, &me, &peer));
	ss_agent_action x = expect_action(f.ag, SS_AA_START_NEGOTIATION, 0);
	assert_true(ss_addr_eq(&x.remote, &peer));
	expect_none(f.ag);
	enum ss_assoc_state st;
	assert_true(ss_agent_state(f.ag, &me, &peer, &st, NULL));
	assert_int_equal(st, SS_AS_NEGOTIATING);
	ss_agent_stats s;
	ss_agent_get_stats(f.ag, &s);
	assert_int_equal(s.held, 0);
	assert_false(ss_agent_initiate(f.ag, 10, &me, &peer)); /* not idle */
	expect_none(f.ag);
	ss_agent_outcome(f.ag, 100, &me, &peer, SS_IKE_SECURED);
	assert_false(ss_agent_initiate(f.ag, 200, &me, &peer));
	done(&f);
	/* No negotiate rule for the pair: nothing starts. */
	f = make("client", NULL);
	assert_false(ss_agent_initiate(f.ag, 0, &me, &peer));
	expect_none(f.ag);
	done(&f);
}

static void late_answer_ends_soft(void **state)
{
	(void)state;
	fixture f = make("server", NULL);
	ss_pkt_key k = out_key(&peer), in = in_key(&peer);
	ss_agent_outbound(f.ag, 0, &k, 100, 1);
	ss_agent_outcome(f.ag, 300, &me, &peer, SS_IKE_PEER_UNREACHABLE);
	expect_action(f.ag, SS_AA_START_NEGOTIATION, 0);
	expect_action(f.ag, SS_AA_HOLD, 1);
	expect_action(f.ag, SS_AA_RELEASE_CLEAR, 1);
	expect_action(f.ag, SS_AA_SOFT_CREATE, 0);
	/* B's genuine IKE answer at 400: soft ends now, no new negotiation (the engine's
	 * exchange goes on), the peer's clear is dropped, ours held. */
	assert_true(ss_agent_peer_answered(f.ag, 400, &me, &peer));
	expect_action(f.ag, SS_AA_SOFT_EXPIRE, 0);
	expect_none(f.ag);
	enum ss_assoc_state st;
	ss_agent_state(f.ag, &me, &peer, &st, NULL);
	assert_int_equal(st, SS_AS_NEGOTIATING);
	ss_agent_inbound_clear(f.ag, 410, &in, 100, 2);
	ss_agent_action x = expect_action(f.ag, SS_AA_DROP, 2);
	assert_int_equal(x.reason, SS_DROP_CLEAR_FROM_SECURE);
	ss_agent_outbound(f.ag, 420, &k, 100, 3);
	expect_action(f.ag, SS_AA_HOLD, 3);
	/* A silent outcome now can never make it soft again: it spoke IKE. */
	ss_agent_outcome(f.ag, 3000, &me, &peer, SS_IKE_PEER_SILENT);
	expect_action(f.ag, SS_AA_BLOCK, 0);
	expect_action(f.ag, SS_AA_DROP, 3);
	ss_agent_stats sts;
	ss_agent_get_stats(f.ag, &sts);
	assert_int_equal(sts.soft_ended_late_answer, 1);
	done(&f);
}

/* Our responder gave up on a peer's IKE_SA_INIT (no IKE_AUTH followed): the pair goes back
 * to where the unproven message found it, and it does not count as having spoken IKE. */
static void responder_gave_up_restores(void **state)
{
	(void)state;
	enum ss_assoc_state st;
	fixture f = make("server", NULL);
	ss_pkt_key k = out_key(&peer);
	/* Idle: back to idle; our own later negotiation may still end soft (silent peer). */
	assert_true(ss_agent_ike_start(f.ag, 0, &me, &peer));
	ss_agent_responder_gave_up(f.ag, 30000, &me, &peer);
	expect_none(f.ag);
	assert_false(ss_agent_state(f.ag, &me, &peer, &st, NULL));
	ss_agent_outbound(f.ag, 31000, &k, 100, 1);
	expect_action(f.ag, SS_AA_START_NEGOTIATION, 0);
	expect_action(f.ag, SS_AA_HOLD, 1);
	ss_agent_outcome(f.ag, 34000, &me, &peer, SS_IKE_PEER_SILENT);
	expect_action(f.ag, SS_AA_RELEASE_CLEAR, 1);
	expect_action(f.ag, SS_AA_SOFT_CREATE, 0);
	/* Soft: the IKE_SA_INIT ends it (the peer may be upgrading); giving up restores it. */
	assert_true(ss_agent_ike_start(f.ag, 35000, &me, &peer));
	expect_action(f.ag, SS_AA_SOFT_EXPIRE, 0);
	ss_agent_responder_gave_up(f.ag, 65000, &me, &peer);
	expect_action(f.ag, SS_AA_SOFT_CREATE, 0);
	expect_none(f.ag);
	ss_agent_state(f.ag, &me, &peer, &st, NULL);
	assert_int_equal(st, SS_AS_SOFT);
	/* Not negotiating any more: a second report is stale and changes nothing. */
	ss_agent_responder_gave_up(f.ag, 65001, &me, &peer);
	expect_none(f.ag);
	ss_agent_stats sts;
	ss_agent_get_stats(f.ag, &sts);
	assert_int_equal(sts.responder_gave_up, 2);
	assert_int_equal(sts.stale_outcomes, 1);
	done(&f);

	/* Blocked (it refused us): the IKE_SA_INIT lifts the block, giving up puts it back. */
	f = make("server", NULL);
	ss_agent_outbound(f.ag, 0, &k, 100, 1);
	ss_agent_outcome(f.ag, 100, &me, &peer, SS_IKE_PEER_REFUSED);
	expect_action(f.ag, SS_AA_START_NEGOTIATION, 0);
	expect_action(f.ag, SS_AA_HOLD, 1);
	expect_action(f.ag, SS_AA_BLOCK, 0);
	expect_action(f.ag, SS_AA_DROP, 1);
	assert_true(ss_agent_ike_start(f.ag, 200, &me, &peer));
	expect_action(f.ag, SS_AA_UNBLOCK, 0);
	ss_agent_responder_gave_up(f.ag, 30200, &me, &peer);
	expect_action(f.ag, SS_AA_BLOCK, 0);
	expect_none(f.ag);
	done(&f);

	/* Our packets waited on the peer's exchange: we negotiate ourselves, holding them. */
	f = make("server", NULL);
	assert_true(ss_agent_ike_start(f.ag, 0, &me, &peer));
	ss_agent_outbound(f.ag, 10, &k, 100, 7);
	expect_action(f.ag, SS_AA_HOLD, 7);
	expect_none(f.ag);
	ss_agent_responder_gave_up(f.ag, 30000, &me, &peer);
	expect_action(f.ag, SS_AA_START_NEGOTIATION, 0);
	expect_none(f.ag);
	ss_agent_outcome(f.ag, 33000, &me, &peer, SS_IKE_PEER_SILENT);
	expect_action(f.ag, SS_AA_RELEASE_CLEAR, 7);
	expect_action(f.ag, SS_AA_SOFT_CREATE, 0);
	done(&f);
}

static void refused_never_soft_and_block_backoff(void **state)
{
	(void)state;
	fixture f = make("server", NULL);
	ss_pkt_key k = out_key(&peer);
	ss_agent_outbound(f.ag, 0, &k, 100, 1);
	ss_agent_outcome(f.ag, 40, &me, &peer, SS_IKE_PEER_REFUSED);
	expect_action(f.ag, SS_AA_START_NEGOTIATION, 0);
	expect_action(f.ag, SS_AA_HOLD, 1);
	ss_agent_action x = expect_action(f.ag, SS_AA_BLOCK, 0);
	assert_int_equal(x.until, 60040);
	x = expect_action(f.ag, SS_AA_DROP, 1);
	assert_int_equal(x.reason, SS_DROP_HELD_FAILED);
	ss_agent_outbound(f.ag, 50, &k, 100, 2);
	x = expect_action(f.ag, SS_AA_DROP, 2);
	assert_int_equal(x.reason, SS_DROP_BLOCKED);
	ss_agent_timer(f.ag, 60040);
	expect_action(f.ag, SS_AA_UNBLOCK, 0);
	expect_none(f.ag);
	ss_agent_outbound(f.ag, 60050, &k, 100, 3);
	expect_action(f.ag, SS_AA_START_NEGOTIATION, 0);
	done(&f);
}

static void global_hold_bound(void **state)
{
	(void)state;
	ss_agent_config cfg;
	ss_agent_config_default(&cfg);
	/* Packets of 100 bytes cost 164: room for 4 per peer, 6 in all. */
	cfg.max_held_bytes_per_peer = 4 * 164 + 100;
	cfg.max_held_bytes_total = 6 * 164 + 100;
	fixture f = make("server", &cfg);
	ss_pkt_key k1 = out_key(&peer), k2 = out_key(&peer2);
	for (uint64_t h = 1; h <= 5; h++)
		ss_agent_outbound(f.ag, h, &k1, 100, h); /* 4 held, 1 over the peer bound */
	for (uint64_t h = 11; h <= 14; h++)
		ss_agent_outbound(f.ag, h, &k2, 100, h); /* 2 held, 2 over the global bound */
	ss_agent_stats s;
	ss_agent_get_stats(f.ag, &s);
	assert_int_equal(s.held_now, 6);
	assert_int_equal(s.held_bytes_now, 6 * 164);
	assert_int_equal(s.held_overflow, 3);
	assert_int_equal(s.dropped[SS_DROP_HELD_OVERFLOW], 3);
	ss_agent_action x;
	while (ss_agent_pop(f.ag, &x))
		;
	ss_agent_outcome(f.ag, 100, &me, &peer2, SS_IKE_SECURED);
	expect_action(f.ag, SS_AA_RELEASE_SA, 11);
	expect_action(f.ag, SS_AA_RELEASE_SA, 12);
	expect_none(f.ag);
	done(&f);
}

/* Issue 11.3: a flood of packets to many distinct destinations that never answer.  What is
 * held stays within the overall byte bound (16 MiB, length + overhead per packet), the
 * excess is dropped and counted, and the agent's own memory stays bounded, for large and
 * for empty packets alike. */
static void hold_memory_bound_under_flood(void **state)
{
	(void)state;
	static const uint32_t lens[] = { 1400, 0 };
	for (size_t li = 0; li < 2; li++) {
		fixture f = make("server", NULL);
		size_t base = ss_agent_memory(f.ag);
		uint64_t handle = 1, offered = 0, held = 0, overflow = 0, peak = 0;
		const uint32_t dests = 40000, per_dest = 8;
		for (uint32_t i = 0; i < dests; i++) {
			ss_addr r = ss_addr_v4(0x0a000000u + i);
			ss_pkt_key k = out_key(&r);
			for (uint32_t j = 0; j < per_dest; j++, offered++)
				ss_agent_outbound(f.ag, i / 100, &k, lens[li], handle++);
			ss_agent_action x;
			while (ss_agent_pop(f.ag, &x)) {
				held += x.kind == SS_AA_HOLD;
				overflow += x.kind == SS_AA_DROP && x.reason == SS_DROP_HELD_OVERFLOW;
			}
			ss_agent_stats s;
			ss_agent_get_stats(f.ag, &s);
			assert_true(s.held_bytes_now <= 16u << 20);
			size_t m = ss_agent_memory(f.ag) - base;
			peak = m > peak ? m : peak;
		}
		ss_agent_stats s;
		ss_agent_get_stats(f.ag, &s);
		assert_int_equal(held + overflow, offered);
		assert_true(overflow > 0);
		assert_int_equal(s.held_overflow, overflow);
		assert_true(s.held_bytes_max <= 16u << 20);
		/* Full to within one packet. */
		assert_true(s.held_bytes_max > (16u << 20) - (lens[li] + SS_AGENT_HELD_OVERHEAD));
		/* Held bytes the caller keeps: at most 16 MiB; the agent: its associations and at
		 * most 16 MiB / 64 nodes of 32 bytes. */
		assert_true(peak <= (size_t)dests * 2 * ss_agent_assoc_size() + (size_t)dests * 16 + (8u << 20) + (1u << 20));
		print_message("len %u: offered %lu, held %lu, overflow %lu, agent memory +%zu bytes\n", lens[li],
			      (unsigned long)offered, (unsigned long)held, (unsigned long)overflow, peak);
		done(&f);
	}
}

static void watchdog_and_stale_outcome(void **state)
{
	(void)state;
	fixture f = make("server", NULL);
	ss_pkt_key k = out_key(&peer);
	ss_agent_outbound(f.ag, 0, &k, 100, 1);
	/* The held packet's age limit first: the silent decision (3 s) + 1 s. */
	assert_int_equal(ss_agent_deadline(f.ag), 4000);
	ss_agent_action x;
	while (ss_agent_pop(f.ag, &x))
		;
	ss_agent_timer(f.ag, 3999);
	expect_none(f.ag);
	ss_agent_timer(f.ag, 4000);
	x = expect_action(f.ag, SS_AA_DROP, 1);
	assert_int_equal(x.reason, SS_DROP_HELD_EXPIRED);
	expect_none(f.ag);
	assert_int_equal(ss_agent_deadline(f.ag), 120000);
	ss_agent_outbound(f.ag, 119000, &k, 100, 2);
	assert_int_equal(ss_agent_deadline(f.ag), 120000);
	ss_agent_timer(f.ag, 120000);
	expect_action(f.ag, SS_AA_HOLD, 2);
	expect_action(f.ag, SS_AA_STOP_NEGOTIATION, 0);
	expect_action(f.ag, SS_AA_BLOCK, 0);
	expect_action(f.ag, SS_AA_DROP, 2);
	/* The engine's late answer finds nothing waiting: ignored, counted. */
	ss_agent_outcome(f.ag, 120001, &me, &peer, SS_IKE_PEER_SILENT);
	expect_none(f.ag);
	ss_agent_stats s;
	ss_agent_get_stats(f.ag, &s);
	assert_int_equal(s.stale_outcomes, 1);
	assert_int_equal(s.watchdog_fired, 1);
	assert_int_equal(s.held_expired, 1);
	assert_int_equal(s.dropped[SS_DROP_HELD_EXPIRED], 1);
	done(&f);
}

static void table_full_drops(void **state)
{
	(void)state;
	ss_agent_config cfg;
	ss_agent_config_default(&cfg);
	cfg.max_assocs = 1;
	fixture f = make("server", &cfg);
	ss_pkt_key k1 = in_key(&peer), k2 = in_key(&peer2);
	ss_agent_inbound_clear(f.ag, 0, &k1, 100, 1);
	expect_action(f.ag, SS_AA_START_NEGOTIATION, 0);
	expect_action(f.ag, SS_AA_PASS_CLEAR, 1);
	ss_agent_inbound_clear(f.ag, 0, &k2, 100, 2);
	ss_agent_action x = expect_action(f.ag, SS_AA_DROP, 2);
	assert_int_equal(x.reason, SS_DROP_TABLE_FULL);
	done(&f);
}

static void ike_start_rules(void **state)
{
	(void)state;
	/* Secure Server answers anyone (a negotiate rule covers all); a policy with only a
	 * permit rule and no Default Response answers nobody. */
	fixture f = make("secure-server", NULL);
	assert_true(ss_agent_ike_start(f.ag, 0, &me, &peer));
	expect_none(f.ag); /* responding is not initiating */
	enum ss_assoc_state st;
	ss_agent_state(f.ag, &me, &peer, &st, NULL);
	assert_int_equal(st, SS_AS_NEGOTIATING);
	/* A responder association never goes soft, even if the exchange dies silently. */
	ss_agent_outcome(f.ag, 10, &me, &peer, SS_IKE_PEER_SILENT);
	expect_action(f.ag, SS_AA_BLOCK, 0);
	done(&f);

	sim_policy *sp = simpol_new("permit-only");
	ss_rule *r = simpol_add_rule(sp, "permit");
	(void)r;
	ss_agent_policy ap = simpol_agent_policy(sp);
	ss_agent *ag = ss_agent_new(NULL, &ap);
	assert_false(ss_agent_ike_start(ag, 0, &me, &peer));
	assert_false(ss_agent_state(ag, &me, &peer, NULL, NULL));
	ss_agent_free(ag);
	simpol_free(sp);
}

static void reload_secured_to_permit(void **state)
{
	(void)state;
	fixture f = make("server", NULL);
	ss_pkt_key k = out_key(&peer);
	ss_agent_outbound(f.ag, 0, &k, 100, 1);
	ss_agent_outcome(f.ag, 40, &me, &peer, SS_IKE_SECURED);
	ss_agent_action x;
	while (ss_agent_pop(f.ag, &x))
		;
	sim_policy *np = simpol_new("permit-all");
	simpol_add_rule(np, "permit");
	ss_agent_policy ap = simpol_agent_policy(np);
	ss_agent_reload(f.ag, 100, &ap);
	expect_action(f.ag, SS_AA_STOP_NEGOTIATION, 0);
	expect_none(f.ag);
	assert_false(ss_agent_state(f.ag, &me, &peer, NULL, NULL));
	ss_agent_outbound(f.ag, 200, &k, 100, 2);
	expect_action(f.ag, SS_AA_PASS_CLEAR, 2);
	/* And the same policy again: nothing changes, nothing is emitted. */
	ss_agent_reload(f.ag, 300, &ap);
	expect_none(f.ag);
	ss_agent_free(f.ag);
	simpol_free(np);
	simpol_free(f.sp);
}

static void memory_back_to_baseline(void **state)
{
	(void)state;
	fixture f = make("server", NULL);
	size_t base = ss_agent_memory(f.ag);
	for (uint32_t i = 0; i < 5000; i++) {
		ss_addr r = ss_addr_v4(0xc6120000u + i);
		ss_pkt_key k = out_key(&r);
		ss_agent_outbound(f.ag, i, &k, 100, i + 1);
		ss_agent_outcome(f.ag, i, &me, &r, SS_IKE_PEER_UNREACHABLE);
	}
	ss_agent_action x;
	while (ss_agent_pop(f.ag, &x))
		;
	assert_true(ss_agent_memory(f.ag) > base);
	int calls = 0;
	while (ss_agent_deadline(f.ag) <= SS_SEC(10000)) {
		ss_agent_timer(f.ag, SS_SEC(10000));
		calls++;
		while (ss_agent_pop(f.ag, &x))
			;
	}
	assert_int_equal(calls, 5); /* 5000 expiries, 1024 per call */
	ss_agent_stats s;
	ss_agent_get_stats(f.ag, &s);
	assert_int_equal(s.assocs, 0);
	assert_int_equal(ss_agent_memory(f.ag), base);
	done(&f);
}

static void info_and_flush_soft(void **state)
{
	(void)state;
	fixture f = make("server", NULL);
	ss_addr peers[4];
	for (int i = 0; i < 4; i++) {
		peers[i] = ss_addr_v4(0xc0000200u + (uint32_t)i);
		ss_pkt_key k = out_key(&peers[i]);
		ss_agent_outbound(f.ag, 0, &k, 100, (uint64_t)i + 1);
		ss_agent_attempt(f.ag, 0, &me, &peers[i], 1);
		ss_agent_attempt(f.ag, 100, &me, &peers[i], 2);
		ss_agent_outcome(f.ag, 300, &me, &peers[i], i ? SS_IKE_PEER_UNREACHABLE : SS_IKE_SECURED);
	}
	ss_agent_action x;
	while (ss_agent_pop(f.ag, &x))
		;
	ss_agent_assoc_info in;
	assert_true(ss_agent_get(f.ag, &me, &peers[1], &in));
	assert_int_equal(in.state, SS_AS_SOFT);
	assert_int_equal(in.since, 300);
	assert_int_equal(in.expires, 300 + 300000);
	assert_int_equal(in.idle_lifetime_s, 300);
	assert_int_equal(in.last_outcome, SS_IKE_PEER_UNREACHABLE);
	assert_string_equal(in.reason, "peer-unreachable");
	assert_non_null(in.rule);
	assert_true(ss_agent_get(f.ag, &me, &peers[0], &in));
	assert_int_equal(in.state, SS_AS_SECURED);
	assert_int_equal(in.expires, SS_NEVER);
	ss_agent_stats st;
	ss_agent_get_stats(f.ag, &st);
	assert_int_equal(st.outcomes[SS_IKE_SECURED], 1);
	assert_int_equal(st.outcomes[SS_IKE_PEER_UNREACHABLE], 3);

	assert_int_equal(ss_agent_flush_soft(f.ag, 1000), 3);
	for (int i = 0; i < 3; i++)
		expect_action(f.ag, SS_AA_SOFT_EXPIRE, 0);
	expect_none(f.ag);
	assert_false(ss_agent_get(f.ag, &me, &peers[1], &in));
	assert_true(ss_agent_get(f.ag, &me, &peers[0], &in));
	done(&f);
}

int main(void)
{
	me = A("10.0.0.1");
	peer = A("10.0.0.3");
	peer2 = A("10.0.0.4");
	ss_log_set_sink(sink, NULL);
	ss_log_set_level(SS_LOG_INFO);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(transition_table),
		cmocka_unit_test(set_state_logs_and_refuses),
		cmocka_unit_test(outbound_to_silent_peer_soft),
		cmocka_unit_test(initiate_without_a_packet),
		cmocka_unit_test(refused_never_soft_and_block_backoff),
		cmocka_unit_test(late_answer_ends_soft),
		cmocka_unit_test(hold_memory_bound_under_flood),
		cmocka_unit_test(global_hold_bound),
		cmocka_unit_test(watchdog_and_stale_outcome),
		cmocka_unit_test(table_full_drops),
		cmocka_unit_test(ike_start_rules),
		cmocka_unit_test(responder_gave_up_restores),
		cmocka_unit_test(reload_secured_to_permit),
		cmocka_unit_test(memory_back_to_baseline),
		cmocka_unit_test(info_and_flush_soft),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
