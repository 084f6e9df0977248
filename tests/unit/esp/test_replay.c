/* Anti-replay window: a numbered table of edge cases (in the manner of WireGuard's counter
 * selftest) and a comparison with a naive model on random sequences. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "esp/replay.h"

#define W ((uint64_t)SS_ESP_REPLAY_WINDOW)
#define B 64 /* bits per block */

/* Receive: infer, pre-check, and (the ICV being good) update; true if accepted. */
static bool rx(ss_replay *r, uint32_t wire, uint64_t *seq)
{
	uint64_t s = 0;
	bool ok = ss_replay_infer(r, wire, &s) && ss_replay_check(r, s) && ss_replay_update(r, s);
	if (seq)
		*seq = s;
	return ok;
}

struct step {
	uint64_t seq;
	bool ok;
};

/* Without ESN.  Each line: a sequence number received, and whether it is accepted. */
static const struct step plain[] = {
	/*  1 */ { 0, false },              /* 0 is never sent */
	/*  2 */ { 1, true },
	/*  3 */ { 1, false },              /* duplicate */
	/*  4 */ { 9, true },
	/*  5 */ { 8, true },               /* late but new */
	/*  6 */ { 7, true },
	/*  7 */ { 7, false },
	/*  8 */ { W + 9, true },           /* window is now (9, W+9] */
	/*  9 */ { 9, false },              /* exactly W behind the top: outside */
	/* 10 */ { 10, true },              /* W-1 behind: the oldest slot still inside */
	/* 11 */ { 10, false },
	/* 12 */ { 2 * W + 10, true },      /* jump wider than the window: all cleared */
	/* 13 */ { W + 11, true },          /* oldest slot of the new window, never seen */
	/* 14 */ { W + 10, false },         /* just outside */
	/* 15 */ { 2 * W + 10, false },     /* the top itself again */
	/* 16 */ { 2 * W + 9, true },       /* right below the top */
	/* 17 */ { 4 * W + 63, true },      /* top on the last bit of a block */
	/* 18 */ { 4 * W + 64, true },      /* next block: slides by one block */
	/* 19 */ { 4 * W + 63, false },     /* still remembered across the block boundary */
	/* 20 */ { 4 * W + 64 + W - 1, true },/* slide by almost a window: 4W+65.. kept */
	/* 21 */ { 4 * W + 64, false },     /* W-1 behind and seen: kept through the slide */
	/* 22 */ { 4 * W + 63, false },     /* W behind: gone */
	/* 23 */ { 4 * W + 65, true },      /* W-2 behind, never seen */
	/* 24 */ { 0xfffffffeULL, true },   /* far jump near the end of the 32-bit space */
	/* 25 */ { 0xffffffffULL, true },   /* the last number */
	/* 26 */ { 0xffffffffULL, false },
	/* 27 */ { 0xfffffffdULL, true },
	/* 28 */ { 0xffffffffULL - W, false },   /* W behind the top */
	/* 29 */ { 0xffffffffULL - W + 1, true },/* W-1 behind */
};

static void plain_table(void **state)
{
	ss_replay r;
	ss_replay_init(&r, false);
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		bool got = rx(&r, (uint32_t)plain[i].seq, NULL);
		if (got != plain[i].ok)
			fail_msg("plain step %zu: seq %llu: expected %s, got %s", i + 1,
				 (unsigned long long)plain[i].seq, plain[i].ok ? "accept" : "reject",
				 got ? "accept" : "reject");
	}
}

/* Every sequence number that aliases a kept slot (same position in the ring, a window
 * apart) is rejected or accepted by the window rule, never by a stale bit. */
static void ring_reuse(void **state)
{
	ss_replay r;
	ss_replay_init(&r, false);
	for (uint64_t s = 1; s <= 3 * SS_ESP_REPLAY_BITMAP_BITS; s += 3)
		assert_true(rx(&r, (uint32_t)s, NULL));
	/* Inside the window: those taken are rejected, the others accepted once. */
	uint64_t top = r.top;
	for (uint64_t s = top - W + 1; s < top; s++) {
		bool taken = (s - 1) % 3 == 0;
		assert_int_equal(rx(&r, (uint32_t)s, NULL), !taken);
	}
	for (uint64_t s = top - W + 1; s <= top; s++)
		assert_false(rx(&r, (uint32_t)s, NULL));
}

struct esn_step {
	uint32_t wire;
	uint64_t seq; /* the inferred full number; 0 = cannot be inferred */
	bool ok;
};

#define HI(x) ((uint64_t)(x) << 32)
/* With ESN (RFC 4303 Appendix A2.2).  Case A: window inside one 2^32 subspace; case B: it
 * straddles a boundary. */
static const struct esn_step esn[] = {
	/*  1 */ { 0xffffffffu, 0, false },           /* would be before 1: subspace -1 */
	/*  2 */ { 0, 0, false },                     /* 64-bit 0 is never sent (infers 0) */
	/*  3 */ { 1, 1, true },
	/*  4 */ { 0xfffffff0u, 0, false },           /* case B at the start: reads as "before 1" */
	/*  5 */ { 0x7ffffff0u, 0x7ffffff0ULL, true },/* case B, below the bottom: this subspace */
	/*  6 */ { 0xfffffff0u, 0xfffffff0ULL, true },/* case A, above the bottom: same subspace */
	/*  7 */ { 5, HI(1) + 5, true },              /* case A, below the bottom: next subspace */
	/*  8 */ { 0xfffffff1u, 0xfffffff1ULL, true },/* case B, above the bottom: previous one */
	/*  9 */ { 0xfffffff0u, 0xfffffff0ULL, false },/* case B, replay across the boundary */
	/* 10 */ { 5, HI(1) + 5, false },             /* case B, below the bottom: this subspace */
	/* 11 */ { 6, HI(1) + 6, true },
	/* 12 */ { (uint32_t)(W + 100), HI(1) + W + 100, true }, /* case A again */
	/* 13 */ { 99, HI(2) + 99, true },            /* W+1 behind reads as the next subspace:
							 * the ICV (with the high bits) rejects it */
	/* 14 */ { 0x80000000u, HI(2) + 0x80000000u, true },
	/* 15 */ { 0xffffffffu, HI(2) + 0xffffffffu, true },
	/* 16 */ { 0, HI(3), true },                  /* low half 0 is valid with ESN */
	/* 17 */ { 0xffffffffu, HI(2) + 0xffffffffu, false },
	/* 18 */ { 0, HI(3), false },
};

static void esn_table(void **state)
{
	ss_replay r;
	ss_replay_init(&r, true);
	for (size_t i = 0; i < sizeof(esn) / sizeof(esn[0]); i++) {
		uint64_t s = 0;
		bool inferred = ss_replay_infer(&r, esn[i].wire, &s);
		if (esn[i].seq == 0 && inferred && s != 0)
			fail_msg("esn step %zu: wire %#x inferred %#llx, expected none", i + 1,
				 esn[i].wire, (unsigned long long)s);
		if (esn[i].seq && (!inferred || s != esn[i].seq))
			fail_msg("esn step %zu: wire %#x inferred %#llx, expected %#llx", i + 1,
				 esn[i].wire, (unsigned long long)s, (unsigned long long)esn[i].seq);
		bool got = rx(&r, esn[i].wire, NULL);
		if (got != esn[i].ok)
			fail_msg("esn step %zu: wire %#x: expected %s", i + 1, esn[i].wire,
				 esn[i].ok ? "accept" : "reject");
	}
}

/* The naive model: every number ever accepted, and the window rule. */
typedef struct naive {
	uint64_t base, top;
	uint8_t *seen; /* one byte per number from base */
	size_t span;
} naive;

static bool naive_rx(naive *m, uint64_t s)
{
	if (s == 0 || s < m->base || s - m->base >= m->span)
		return false;
	if (s <= m->top && (m->top - s >= W || m->seen[s - m->base]))
		return false;
	m->seen[s - m->base] = 1;
	if (s > m->top)
		m->top = s;
	return true;
}

static uint64_t rng_state;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Mostly in order, some late, some very late, some jumps: what a network does. */
static uint64_t next_seq(uint64_t top, uint64_t floor)
{
	uint64_t k = rnd() % 100, s;
	if (k < 60)
		s = top + 1 + rnd() % 4;
	else if (k < 80)
		s = top - rnd() % (W + W / 4);
	else if (k < 92)
		s = top - rnd() % 130;
	else if (k < 97)
		s = top - W + rnd() % 3 - 1; /* the edge of the window */
	else
		s = top + rnd() % (3 * W);
	return s < floor ? floor : s;
}

static void differential(void **state, bool with_esn, uint64_t start)
{
	const char *env = getenv("SS_TEST_SEED");
	rng_state = env ? strtoull(env, NULL, 0) : 0x5eed1234abcdULL;
	if (!rng_state)
		rng_state = 1;
	print_message("seed %#llx (set SS_TEST_SEED to repeat)\n", (unsigned long long)rng_state);
	naive m = { .base = start - 2 * W, .top = start, .span = 1u << 24 };
	m.seen = calloc(m.span, 1);
	assert_non_null(m.seen);
	ss_replay r;
	ss_replay_init(&r, with_esn);
	r.top = start; /* both start with nothing seen below a common top */
	int i, accepted = 0;
	for (i = 0; i < 200000; i++) {
		uint64_t s = next_seq(m.top, start - W);
		if (s - m.base >= m.span - 4 * W)
			break;
		uint64_t inf = 0;
		bool fast;
		if (with_esn) {
			bool ok = ss_replay_infer(&r, (uint32_t)s, &inf);
			if (s + W > r.top) {
				/* Inside or right of the window: inference must find the true number. */
				if (!ok || inf != s)
					fail_msg("step %d: %#llx inferred as %#llx", i,
						 (unsigned long long)s, (unsigned long long)inf);
			} else {
				/* Left of it: never the true number (the ICV will reject it). */
				assert_true(!ok || inf != s);
				assert_false(naive_rx(&m, s));
				continue;
			}
		}
		fast = rx(&r, (uint32_t)s, NULL);
		if (fast != naive_rx(&m, s))
			fail_msg("step %d: seq %#llx: window says %d, model disagrees", i,
				 (unsigned long long)s, fast);
		assert_true(r.top == m.top);
		accepted += fast;
	}
	free(m.seen);
	print_message("%d steps, %d accepted\n", i, accepted);
	assert_true(i >= 50000 && accepted > i / 3 && accepted < i);
}

static void differential_plain(void **state) { differential(state, false, 1000000); }
/* Starts just below the first 2^32 boundary so the walk crosses it. */
static void differential_esn(void **state) { differential(state, true, 0xffffffffULL - 3 * W); }

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plain_table),
		cmocka_unit_test(ring_reuse),
		cmocka_unit_test(esn_table),
		cmocka_unit_test(differential_plain),
		cmocka_unit_test(differential_esn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
