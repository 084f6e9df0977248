/* The association table and its deadline heap against a naive reference (arrays scanned
 * linearly) on a long random sequence of inserts, lookups, removals and deadline moves;
 * and the held-packet pool's bounds and order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/internal.h"

#define N_KEYS 2000

static uint64_t rng = 88172645463325252ull;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static ss_addr key_addr(unsigned k, bool local)
{
	/* Some IPv6, some IPv4; locals few, remotes many. */
	if (k % 3 == 0) {
		uint8_t b[16] = { 0x20, 0x01, 0x0d, 0xb8 };
		b[15] = (uint8_t)(local ? k % 4 : k);
		b[14] = (uint8_t)(local ? 0 : k >> 8);
		return ss_addr_v6(b);
	}
	return ss_addr_v4(local ? 0x0a000001u + k % 4 : 0xc0a80000u + k);
}

static void table_vs_reference(void **state)
{
	(void)state;
	ss_assoc_table t;
	assert_true(ss_at_init(&t));
	uint32_t idx[N_KEYS];
	ss_time dl[N_KEYS]; /* SS_NEVER: no deadline */
	bool present[N_KEYS] = { false };
	for (int i = 0; i < N_KEYS; i++)
		dl[i] = SS_NEVER;
	for (int step = 0; step < 200000; step++) {
		unsigned k = (unsigned)(next() % N_KEYS);
		ss_addr l = key_addr(k, true), r = key_addr(k, false);
		uint32_t f = ss_at_find(&t, &l, &r);
		assert_int_equal(f != SS_NIL, present[k]);
		if (present[k])
			assert_int_equal(f, idx[k]);
		switch (next() % 4) {
		case 0:
			if (!present[k]) {
				idx[k] = ss_at_insert(&t, &l, &r);
				assert_int_not_equal(idx[k], SS_NIL);
				present[k] = true;
			}
			break;
		case 1:
			if (present[k]) {
				ss_at_remove(&t, idx[k]);
				present[k] = false;
				dl[k] = SS_NEVER;
			}
			break;
		case 2:
			if (present[k]) {
				dl[k] = next() % 100000;
				ss_at_set_deadline(&t, idx[k], dl[k]);
			}
			break;
		default:
			if (present[k]) {
				ss_at_clear_deadline(&t, idx[k]);
				dl[k] = SS_NEVER;
			}
			break;
		}
		if (step % 97 == 0) {
			ss_time min = SS_NEVER;
			uint32_t count = 0;
			for (int i = 0; i < N_KEYS; i++) {
				if (present[i]) {
					count++;
					if (dl[i] < min)
						min = dl[i];
				}
			}
			assert_int_equal(t.count, count);
			uint32_t top = ss_at_top(&t);
			if (min == SS_NEVER)
				assert_int_equal(top, SS_NIL);
			else
				assert_true(top != SS_NIL && ss_at_get(&t, top)->deadline == min);
		}
	}
	/* Remove everything: the table gives its memory back. */
	for (int i = 0; i < N_KEYS; i++)
		if (present[i])
			ss_at_remove(&t, idx[i]);
	assert_int_equal(t.count, 0);
	assert_true(ss_at_memory(&t) < 64 * 1024);
	ss_at_fini(&t);
}

static void held_pool_bounds_and_order(void **state)
{
	(void)state;
	ss_held_pool p;
	assert_true(ss_hp_init(&p, 5));
	ss_assoc a = { .held_head = SS_NIL, .held_tail = SS_NIL }, b = a;
	for (uint64_t h = 1; h <= 3; h++)
		assert_true(ss_hp_push(&p, &a, &(ss_held){ .handle = h }));
	for (uint64_t h = 10; h <= 11; h++)
		assert_true(ss_hp_push(&p, &b, &(ss_held){ .handle = h }));
	/* Global bound: the sixth packet does not fit. */
	assert_false(ss_hp_push(&p, &b, &(ss_held){ .handle = 12 }));
	assert_int_equal(p.in_use, 5);
	ss_held out;
	for (uint64_t h = 1; h <= 3; h++) {
		assert_true(ss_hp_pop(&p, &a, &out));
		assert_int_equal(out.handle, h);
	}
	assert_false(ss_hp_pop(&p, &a, &out));
	/* Freed nodes are reused, and b's order is intact. */
	assert_true(ss_hp_push(&p, &b, &(ss_held){ .handle = 12 }));
	for (uint64_t h = 10; h <= 12; h++) {
		assert_true(ss_hp_pop(&p, &b, &out));
		assert_int_equal(out.handle, h);
	}
	assert_int_equal(p.in_use, 0);
	ss_hp_fini(&p);
}

static void assoc_fits_budget(void **state)
{
	(void)state;
	/* A soft association costs its record, one bucket slot and one heap slot. */
	assert_true(sizeof(ss_assoc) + 2 * sizeof(uint32_t) <= 256);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(table_vs_reference),
		cmocka_unit_test(held_pool_bounds_and_order),
		cmocka_unit_test(assoc_fits_budget),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
