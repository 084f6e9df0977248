#include <string.h>
/* The SA table's structures (src/ike/sa_table.c) against naive models on random operations:
 * the hash multimap against a flat array of (in, key) scanned in full, the deadline heap
 * against a linear minimum.  Small key and time ranges force duplicate keys, bucket
 * collisions and ties; enough operations to grow the map and heap several times. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "ike/sa_table.h"

#define N 3000
#define OPS 200000

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

typedef struct item {
	ss_hnode h;
	ss_tnode t;
	bool in;      /* model: in the map */
	uint64_t key; /* model: its key */
	bool timed;   /* model: in the heap */
	ss_time at;
} item;

static item it[N];

/* Every node the map yields for key is a model member with that key, each once, and all of
 * them are yielded. */
static void check_key(const ss_hmap *m, uint64_t key)
{
	static unsigned seen[N], gen;
	gen++;
	size_t got = 0, want = 0;
	for (ss_hnode *n = ss_hmap_first(m, key); n; n = ss_hmap_next(n)) {
		item *x = (item *)((char *)n - offsetof(item, h));
		assert_true(x->in);
		assert_int_equal(x->key, key);
		assert_int_not_equal(seen[x - it], gen);
		seen[x - it] = gen;
		got++;
	}
	for (size_t i = 0; i < N; i++)
		want += it[i].in && it[i].key == key;
	assert_int_equal(got, want);
}

static void check_walk(const ss_hmap *m)
{
	size_t cur = 0, got = 0, want = 0;
	for (ss_hnode *n = NULL; (n = ss_hmap_walk(m, &cur, n));) {
		item *x = (item *)((char *)n - offsetof(item, h));
		assert_true(x->in);
		/* The back link removal relies on (no chain walk): it points at this node. */
		assert_true(ss_hnode_in(n));
		assert_ptr_equal(*n->pprev, n);
		got++;
	}
	for (size_t i = 0; i < N; i++) {
		want += it[i].in;
		assert_int_equal(ss_hnode_in(&it[i].h), it[i].in);
	}
	assert_int_equal(got, want);
	assert_int_equal(m->n, want);
}

static void hmap_vs_model(void **state)
{
	(void)state;
	memset(it, 0, sizeof(it));
	ss_hmap m;
	ss_hmap_init(&m, 42);
	check_key(&m, 7);   /* empty map: nothing, no buckets yet */
	for (int op = 0; op < OPS; op++) {
		item *x = &it[rnd() % N];
		/* Keys from a range of 500: many duplicates (the SPIi multimap's case); a few huge
		 * keys so that the high bits matter too. */
		uint64_t key = rnd() % 8 == 0 ? rnd() : rnd() % 500;
		switch (rnd() % 4) {
		case 0:
		case 1:
			assert_true(ss_hmap_insert(&m, &x->h, key));  /* also re-keys a member */
			x->in = true;
			x->key = key;
			break;
		case 2:
			ss_hmap_remove(&m, &x->h);
			ss_hmap_remove(&m, &x->h);  /* twice: a no-op */
			x->in = false;
			break;
		default:
			check_key(&m, key);
			if (x->in)
				check_key(&m, x->key);
			break;
		}
		if (op % 10000 == 0)
			check_walk(&m);
	}
	check_walk(&m);
	for (uint64_t k = 0; k < 500; k++)
		check_key(&m, k);
	ss_hmap_free(&m);
}

static item *model_min(void)
{
	item *best = NULL;
	for (size_t i = 0; i < N; i++) {
		item *x = &it[i];
		if (x->timed && (!best || x->at < best->at || (x->at == best->at && x->t.seq < best->t.seq)))
			best = x;
	}
	return best;
}

static void theap_vs_model(void **state)
{
	(void)state;
	memset(it, 0, sizeof(it));
	for (size_t i = 0; i < N; i++)
		it[i].t.seq = i;
	ss_theap t;
	ss_theap_init(&t);
	assert_null(ss_theap_top(&t));
	for (int op = 0; op < OPS; op++) {
		item *x = &it[rnd() % N];
		ss_time at = rnd() % 1000;  /* many ties: broken by seq */
		switch (rnd() % 5) {
		case 0:
		case 1:
		case 2:
			assert_true(ss_theap_set(&t, &x->t, at));  /* inserts or moves, up or down */
			x->timed = true;
			x->at = at;
			break;
		case 3:
			ss_theap_remove(&t, &x->t);
			x->timed = false;
			break;
		default: {
			ss_tnode *top = ss_theap_top(&t);
			if (top) {  /* pop the earliest, as the timer pass does */
				item *y = (item *)((char *)top - offsetof(item, t));
				ss_theap_remove(&t, top);
				y->timed = false;
			}
			break;
		}
		}
		item *want = model_min();
		ss_tnode *top = ss_theap_top(&t);
		if (!want) {
			assert_null(top);
			continue;
		}
		assert_ptr_equal(top, &want->t);
		assert_int_equal(top->at, want->at);
	}
	/* Drained in order, every member once. */
	size_t n = t.n;
	ss_time last = 0;
	uint64_t last_seq = 0;
	for (size_t i = 0; i < n; i++) {
		ss_tnode *top = ss_theap_top(&t);
		assert_non_null(top);
		assert_true(top->at > last || (top->at == last && (i == 0 || top->seq > last_seq)));
		last = top->at;
		last_seq = top->seq;
		assert_ptr_equal(top, &model_min()->t);
		ss_theap_remove(&t, top);
		((item *)((char *)top - offsetof(item, t)))->timed = false;
	}
	assert_null(ss_theap_top(&t));
	assert_null(model_min());
	ss_theap_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hmap_vs_model),
		cmocka_unit_test(theap_vs_model),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
