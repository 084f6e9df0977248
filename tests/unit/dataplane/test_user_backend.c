/* The userspace backend behind dataplane.h, over a fake packet port (the real port is proved
 * in tests/netns/dp_*.sh): the held-packet store, the SA table, and the packet path's
 * promises: every captured packet becomes one ACQUIRE with a handle; a verdict is taken once;
 * ESP goes through the newest outbound SA of the pair and decrypts on the other side; held
 * packets survive the round; undecided ones are dropped and counted; an unknown SPI is a
 * rate-limited hint; a hard lifetime removes the SA and says so. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "base/ip.h"
#include "dataplane/user/backend.h"

/* ---- a fake port: outbound packets queued by the test, everything sent recorded ---- */

typedef struct fake_port {
	ss_dpu base;
	uint8_t out[8][256];
	size_t out_len[8], n_out;
	uint8_t sent[16][512];
	size_t sent_len[16], n_sent;
	ss_addr sent_to[16];
	uint8_t clear[16][256];
	size_t clear_len[16], n_clear;
	uint8_t deliv[16][256];
	size_t deliv_len[16], n_deliv;
} fake_port;

static fake_port *F(ss_dpu *p) { return (fake_port *)p; }

static void f_close(ss_dpu *p) { free(p); }
static int f_set_filters(ss_dpu *p, const ss_dp_filter *f, size_t n) { return 0; }
static int f_set_peer(ss_dpu *p, const ss_addr *a, enum ss_dp_peer_state st, ss_time t) { return 0; }
static size_t f_poll_fds(ss_dpu *p, ss_dp_fd *out, size_t max)
{
	out[0] = (ss_dp_fd){ 100, SS_DP_FD_OUTBOUND };
	out[1] = (ss_dp_fd){ 101, SS_DP_FD_ESP };
	return 2;
}
static int f_read_outbound(ss_dpu *p, ss_dpu_pkt *pk, size_t n)
{
	fake_port *f = F(p);
	size_t k = 0;
	for (; k < f->n_out && k < n; k++) {
		memcpy(pk[k].buf, f->out[k], f->out_len[k]);
		pk[k].data = pk[k].buf;
		pk[k].len = f->out_len[k];
	}
	f->n_out = 0;
	return (int)k;
}
static int f_release_clear(ss_dpu *p, const ss_dpu_pkt *pk, size_t n)
{
	fake_port *f = F(p);
	for (size_t i = 0; i < n && f->n_clear < 16; i++, f->n_clear++) {
		memcpy(f->clear[f->n_clear], pk[i].data, pk[i].len);
		f->clear_len[f->n_clear] = pk[i].len;
	}
	return (int)n;
}
static int f_send_esp(ss_dpu *p, const ss_dpu_pkt *pk, size_t n)
{
	fake_port *f = F(p);
	for (size_t i = 0; i < n && f->n_sent < 16; i++, f->n_sent++) {
		memcpy(f->sent[f->n_sent], pk[i].data, pk[i].len);
		f->sent_len[f->n_sent] = pk[i].len;
		f->sent_to[f->n_sent] = pk[i].remote;
	}
	return (int)n;
}
static int f_recv_esp(ss_dpu *p, ss_dpu_pkt *pk, size_t n) { return 0; }
static int f_deliver(ss_dpu *p, const ss_dpu_pkt *pk, size_t n)
{
	fake_port *f = F(p);
	for (size_t i = 0; i < n && f->n_deliv < 16; i++, f->n_deliv++) {
		memcpy(f->deliv[f->n_deliv], pk[i].data, pk[i].len);
		f->deliv_len[f->n_deliv] = pk[i].len;
	}
	return (int)n;
}
static int f_read_notices(ss_dpu *p, ss_dp_notice *out, size_t n) { return 0; }
static void f_get_stats(ss_dpu *p, ss_dpu_stats *out) { memset(out, 0, sizeof(*out)); }
static int f_list_soft(ss_dpu *p, ss_dp_soft_info *out, size_t n) { return 0; }

static const struct ss_dpu_ops fake_ops = {
	f_close, f_set_filters, f_set_peer, f_poll_fds, f_read_outbound, f_release_clear,
	f_send_esp, f_recv_esp, f_deliver, f_read_notices, f_get_stats, f_list_soft,
};

static ss_dp *new_backend(fake_port **fp)
{
	fake_port *f = calloc(1, sizeof(*f));
	f->base.ops = &fake_ops;
	*fp = f;
	dpu_backend *b = dpu_backend_new(&f->base, 16, "test");
	assert_non_null(b);
	return &b->base;
}

static ss_addr A(const char *s)
{
	ss_addr a;
	assert_true(ss_addr_parse(s, &a));
	return a;
}

/* An IPv4 UDP packet src:40000 -> dst:7777 with n payload bytes of value v. */
static size_t udp4(uint8_t *b, const char *src, const char *dst, size_t n, uint8_t v)
{
	ss_addr s = A(src), d = A(dst);
	size_t tot = 28 + n;
	memset(b, 0, tot);
	b[0] = 0x45, b[2] = (uint8_t)(tot >> 8), b[3] = (uint8_t)tot, b[8] = 64, b[9] = SS_IPPROTO_UDP;
	memcpy(b + 12, s.a, 4);
	memcpy(b + 16, d.a, 4);
	uint16_t c = ss_csum_finish(ss_csum_add(0, b, 20));
	b[10] = (uint8_t)(c >> 8), b[11] = (uint8_t)c;
	b[20] = 0x9c, b[21] = 0x40, b[22] = 0x1e, b[23] = 0x61;
	b[24] = (uint8_t)((8 + n) >> 8), b[25] = (uint8_t)(8 + n);
	memset(b + 28, v, n);
	return tot;
}

static const uint8_t key[20] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 0xa, 0xb, 0xc, 0xd };

static ss_dp_sa gcm_sa(uint32_t spi, int dir, const char *local, const char *remote, uint32_t reqid)
{
	ss_dp_sa sa;
	memset(&sa, 0, sizeof(sa));
	sa.id = (ss_dp_sa_id){ spi, (uint8_t)dir, A(local), A(remote) };
	sa.reqid = reqid;
	sa.encr = SS_ENCR_AES_GCM_16;
	sa.encr_key = key;
	sa.encr_key_len = sizeof(key);
	return sa;
}

static int events(ss_dp *dp, ss_dp_event *ev, int max)
{
	int n = 0;
	while (n < max && ss_dp_next_event(dp, &ev[n]))
		n++;
	return n;
}

/* ---- held store ---- */

static void test_held(void **state)
{
	dpu_held h;
	memset(&h, 0, sizeof(h));
	h.max_n = 3;
	uint8_t a[100], b[1400];
	memset(a, 1, sizeof(a));
	memset(b, 2, sizeof(b));
	assert_true(dpu_held_put(&h, 7, a, sizeof(a)));
	assert_true(dpu_held_put(&h, 7 + DPU_HELD_BUCKETS, b, sizeof(b))); /* may share a bucket */
	assert_true(dpu_held_put(&h, 9, a, 10));
	assert_false(dpu_held_put(&h, 10, a, 10)); /* over the bound: refused, counted */
	assert_int_equal(h.refused, 1);
	assert_int_equal(h.n, 3);
	assert_int_equal(h.bytes, 100 + 1400 + 10);
	assert_null(dpu_held_take(&h, 8));
	dpu_held_pkt *k = dpu_held_take(&h, 7 + DPU_HELD_BUCKETS);
	assert_non_null(k);
	assert_int_equal(k->len, 1400);
	assert_memory_equal(k->data, b, 1400);
	free(k);
	assert_null(dpu_held_take(&h, 7 + DPU_HELD_BUCKETS)); /* taken once only */
	k = dpu_held_take(&h, 7);
	assert_non_null(k);
	assert_memory_equal(k->data, a, 100);
	free(k);
	dpu_held_clear(&h); /* frees what is left (ASan checks) */
	assert_int_equal(h.n, 0);
	assert_int_equal(h.bytes, 0);
}

/* ---- SA table ---- */

static void test_sas(void **state)
{
	dpu_sas *t = malloc(sizeof(*t));
	assert_true(dpu_sas_init(t));
	const char *why;
	ss_addr l = A("10.0.0.1"), r = A("10.0.0.2");
	assert_null(dpu_sas_for_pair(t, &l, &r));
	ss_dp_sa in = gcm_sa(0x1000, SS_DP_IN, "10.0.0.1", "10.0.0.2", 1);
	assert_int_equal(dpu_sas_add(t, &in, 0, &why, NULL), 0);
	assert_null(dpu_sas_for_pair(t, &l, &r)); /* inbound carries nothing out */
	ss_dp_sa o1 = gcm_sa(0x2000, SS_DP_OUT, "10.0.0.1", "10.0.0.2", 1);
	ss_dp_sa o2 = gcm_sa(0x3000, SS_DP_OUT, "10.0.0.1", "10.0.0.2", 2);
	assert_int_equal(dpu_sas_add(t, &o1, 0, &why, NULL), 0);
	assert_int_equal(dpu_sas_add(t, &o1, 0, &why, NULL), -EEXIST);
	uint64_t g = t->gen;
	assert_int_equal(dpu_sas_add(t, &o2, 0, &why, NULL), 0);
	assert_true(t->gen != g);
	assert_int_equal(dpu_sas_for_pair(t, &l, &r)->id.spi, 0x3000); /* the newest wins */
	ss_addr other = A("10.0.0.3");
	assert_null(dpu_sas_for_pair(t, &l, &other));
	dpu_sas_del(t, dpu_sas_find(t, &o2.id));
	assert_int_equal(dpu_sas_for_pair(t, &l, &r)->id.spi, 0x2000);
	ss_dp_sa pk = gcm_sa(0x4000, SS_DP_OUT, "10.0.0.1", "10.0.0.2", 3);
	pk.life.hard_packets = 10;
	assert_int_equal(dpu_sas_add(t, &pk, 0, &why, NULL), -EINVAL); /* not silently ignored */
	assert_non_null(why);
	dpu_sas_free(t);
	free(t);
}

/* Beyond the old fixed 2048 slots: 6000 SAs (an inbound and an outbound for each of 3000
 * CHILD SAs, 30 pairs of 100), each found by SPI and direction, the newest outbound of each
 * pair by pair; half deleted (the newest of each pair among them), found no more, the rest
 * still; the SPIs reused. */
#define SC_PAIRS 30
#define SC_PER 100

static ss_dp_sa scale_sa(unsigned pair, unsigned k, int dir)
{
	char r[32];
	snprintf(r, sizeof(r), "10.9.%u.%u", pair / 200, pair % 200 + 1);
	uint32_t spi = 0x10000u + (pair * SC_PER + k) * 2u + (dir == SS_DP_OUT);
	return gcm_sa(spi, dir, "10.0.0.1", r, pair * SC_PER + k + 1);
}

static void test_sas_scale(void **state)
{
	dpu_sas *t = malloc(sizeof(*t));
	assert_true(dpu_sas_init(t));
	const char *why;
	for (unsigned p = 0; p < SC_PAIRS; p++)
		for (unsigned k = 0; k < SC_PER; k++) {
			ss_dp_sa in = scale_sa(p, k, SS_DP_IN), out = scale_sa(p, k, SS_DP_OUT);
			dpu_sa *s = NULL;
			assert_int_equal(dpu_sas_add(t, &in, 0, &why, &s), 0);
			assert_non_null(s);
			assert_int_equal(dpu_sas_add(t, &out, 0, &why, NULL), 0);
		}
	assert_int_equal(t->n_used, 2 * SC_PAIRS * SC_PER);
	for (unsigned p = 0; p < SC_PAIRS; p++) {
		for (unsigned k = 0; k < SC_PER; k++) {
			ss_dp_sa in = scale_sa(p, k, SS_DP_IN);
			dpu_sa *s = dpu_sas_find(t, &in.id);
			assert_non_null(s);
			assert_int_equal(s->reqid, in.reqid);
		}
		ss_dp_sa last = scale_sa(p, SC_PER - 1, SS_DP_OUT);
		dpu_sa *b = dpu_sas_for_pair(t, &last.id.local, &last.id.remote);
		assert_non_null(b);
		assert_int_equal(b->id.spi, last.id.spi);
	}
	/* odd k go, SC_PER - 1 (the newest) among them */
	for (unsigned p = 0; p < SC_PAIRS; p++)
		for (unsigned k = 1; k < SC_PER; k += 2)
			for (int dir = SS_DP_IN; dir <= SS_DP_OUT; dir++) {
				ss_dp_sa x = scale_sa(p, k, dir);
				dpu_sas_del(t, dpu_sas_find(t, &x.id));
			}
	assert_int_equal(t->n_used, SC_PAIRS * SC_PER);
	for (unsigned p = 0; p < SC_PAIRS; p++) {
		for (unsigned k = 0; k < SC_PER; k++) {
			ss_dp_sa o = scale_sa(p, k, SS_DP_OUT);
			if (k % 2)
				assert_null(dpu_sas_find(t, &o.id));
			else
				assert_non_null(dpu_sas_find(t, &o.id));
		}
		ss_dp_sa newest = scale_sa(p, SC_PER - 2, SS_DP_OUT);
		assert_int_equal(dpu_sas_for_pair(t, &newest.id.local, &newest.id.remote)->id.spi, newest.id.spi);
	}
	/* Two peers may pick the same SPI for our outbound SAs: both install, each found by its
	 * peer; an inbound SPI (ours) stays unique. */
	ss_dp_sa twin = scale_sa(4, 0, SS_DP_OUT), twin_in = scale_sa(4, 0, SS_DP_IN);
	twin.id.remote = twin_in.id.remote = A("10.8.0.1");
	twin.reqid = 99999;
	assert_int_equal(dpu_sas_add(t, &twin, 0, &why, NULL), 0);
	assert_int_equal(dpu_sas_add(t, &twin_in, 0, &why, NULL), -EEXIST);
	assert_int_equal(dpu_sas_find(t, &twin.id)->reqid, 99999);
	ss_dp_sa orig = scale_sa(4, 0, SS_DP_OUT);
	assert_int_equal(dpu_sas_find(t, &orig.id)->reqid, orig.reqid);
	ss_dp_sa again = scale_sa(3, 1, SS_DP_OUT);
	assert_int_equal(dpu_sas_add(t, &again, 0, &why, NULL), 0);
	assert_int_equal(dpu_sas_for_pair(t, &again.id.local, &again.id.remote)->id.spi, again.id.spi);
	dpu_sas_free(t); /* frees every SA (ASan checks) */
	free(t);
}

/* ---- the packet path ---- */

static void test_acquire_and_verdicts(void **state)
{
	fake_port *f;
	ss_dp *dp = new_backend(&f);
	for (int i = 0; i < 3; i++)
		f->out_len[i] = udp4(f->out[i], "10.0.0.1", "10.0.0.2", 20, (uint8_t)i);
	f->n_out = 3;
	assert_int_equal(ss_dp_process(dp, 100, 1000), 3);
	ss_dp_event ev[8];
	assert_int_equal(events(dp, ev, 8), 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(ev[i].kind, SS_DP_EV_ACQUIRE);
		assert_int_equal(ev[i].handle, (uint64_t)i + 1);
		assert_int_equal(ev[i].proto, SS_IPPROTO_UDP);
		assert_int_equal(ev[i].sport, 40000);
		assert_int_equal(ev[i].dport, 7777);
		assert_int_equal(ev[i].len, 48);
		assert_true(ss_addr_eq(&ev[i].remote, &(ss_addr){ 0 }) == false);
	}
	/* No SA yet: ESP drops it and counts. */
	assert_int_equal(ss_dp_verdict(dp, 1, SS_DP_PKT_ESP, 1000), 0);
	assert_int_equal(ss_dp_verdict(dp, 1, SS_DP_PKT_CLEAR, 1000), -ENOENT); /* once only */
	ss_dp_sa o = gcm_sa(0x2000, SS_DP_OUT, "10.0.0.1", "10.0.0.2", 1);
	assert_int_equal(ss_dp_sa_add(dp, &o, 1000), 0);
	assert_int_equal(ss_dp_verdict(dp, 2, SS_DP_PKT_ESP, 1000), 0);
	assert_int_equal(ss_dp_verdict(dp, 3, SS_DP_PKT_HOLD, 1000), 0);
	assert_int_equal(ss_dp_flush(dp, 1000), 0);
	ss_dp_stats st;
	ss_dp_get_stats(dp, &st);
	assert_int_equal(st.no_sa_out, 1);
	assert_int_equal(st.esp_out_pkts, 1);
	assert_int_equal(st.undecided, 0);
	assert_int_equal(f->n_sent, 1);
	assert_true(ss_addr_eq(&f->sent_to[0], &o.id.remote));
	assert_int_equal(f->sent[0][0] << 24 | f->sent[0][1] << 16 | f->sent[0][2] << 8 | f->sent[0][3], 0x2000);
	assert_int_equal(f->n_clear, 0);
	/* The held packet outlives the round; released clear, it is the same bytes. */
	assert_int_equal(ss_dp_verdict(dp, 3, SS_DP_PKT_CLEAR, 2000), 0);
	ss_dp_flush(dp, 2000);
	assert_int_equal(f->n_clear, 1);
	assert_int_equal(f->clear_len[0], f->out_len[2]);
	assert_memory_equal(f->clear[0], f->out[2], f->out_len[2]);
	assert_int_equal(ss_dp_verdict(dp, 3, SS_DP_PKT_DROP, 2000), -ENOENT);
	/* A packet left without a verdict is dropped at the end of its round, and counted. */
	f->out_len[0] = udp4(f->out[0], "10.0.0.1", "10.0.0.2", 5, 9);
	f->n_out = 1;
	assert_int_equal(ss_dp_process(dp, 100, 3000), 1);
	assert_int_equal(events(dp, ev, 8), 1);
	ss_dp_flush(dp, 3000);
	assert_int_equal(ss_dp_verdict(dp, ev[0].handle, SS_DP_PKT_CLEAR, 3000), -ENOENT);
	ss_dp_get_stats(dp, &st);
	assert_int_equal(st.undecided, 1);
	ss_dp_close(dp);
}

static void test_esp_both_ways_and_unknown_spi(void **state)
{
	fake_port *fa, *fb;
	ss_dp *a = new_backend(&fa), *b = new_backend(&fb);
	ss_dp_sa out = gcm_sa(0x2000, SS_DP_OUT, "10.0.0.1", "10.0.0.2", 1);
	ss_dp_sa in = gcm_sa(0x2000, SS_DP_IN, "10.0.0.2", "10.0.0.1", 7);
	assert_int_equal(ss_dp_sa_add(a, &out, 0), 0);
	assert_int_equal(ss_dp_sa_add(b, &in, 0), 0);
	fa->out_len[0] = udp4(fa->out[0], "10.0.0.1", "10.0.0.2", 100, 0x5a);
	fa->n_out = 1;
	ss_dp_process(a, 100, 10);
	ss_dp_event ev[8];
	assert_int_equal(events(a, ev, 8), 1);
	ss_dp_verdict(a, ev[0].handle, SS_DP_PKT_ESP, 10);
	ss_dp_flush(a, 10);
	assert_int_equal(fa->n_sent, 1);
	ss_addr la = A("10.0.0.1"), lb = A("10.0.0.2");
	/* As if it arrived on B's NAT-T socket. */
	assert_int_equal(ss_dp_esp_input(b, &lb, &la, 4500, 4500, fa->sent[0], fa->sent_len[0]), 0);
	ss_dp_flush(b, 11);
	assert_int_equal(fb->n_deliv, 1);
	assert_int_equal(fb->deliv_len[0], fa->out_len[0]);
	assert_memory_equal(fb->deliv[0], fa->out[0], fa->out_len[0]);
	ss_dp_sa_counters c;
	assert_int_equal(ss_dp_sa_query(b, &in.id, &c), 0);
	assert_int_equal(c.packets, 1);
	/* The same packet again is a replay: counted on the SA, not delivered. */
	ss_dp_esp_input(b, &lb, &la, 4500, 4500, fa->sent[0], fa->sent_len[0]);
	ss_dp_flush(b, 12);
	assert_int_equal(fb->n_deliv, 1);
	ss_dp_sa_query(b, &in.id, &c);
	assert_int_equal(c.replay_fail, 1);
	/* An SPI B does not have: one hint per sender and SPI per second, every one counted. */
	uint8_t bogus[64] = { 0, 0, 0x99, 0x99, 0, 0, 0, 1 };
	for (int i = 0; i < 3; i++)
		ss_dp_esp_input(b, &lb, &la, 4500, 4500, bogus, sizeof(bogus));
	ss_dp_flush(b, 13);
	assert_int_equal(events(b, ev, 8), 1);
	assert_int_equal(ev[0].kind, SS_DP_EV_UNKNOWN_SPI);
	assert_int_equal(ev[0].sa.spi, 0x9999);
	assert_true(ss_addr_eq(&ev[0].remote, &la));
	ss_dp_esp_input(b, &lb, &la, 4500, 4500, bogus, sizeof(bogus));
	ss_dp_flush(b, 1100);
	assert_int_equal(events(b, ev, 8), 1);
	ss_dp_stats st;
	ss_dp_get_stats(b, &st);
	assert_int_equal(st.unknown_spi, 4);
	ss_dp_close(a);
	ss_dp_close(b);
}

static void test_lifetimes(void **state)
{
	fake_port *f;
	ss_dp *dp = new_backend(&f);
	ss_dp_sa o = gcm_sa(0x2000, SS_DP_OUT, "10.0.0.1", "10.0.0.2", 42);
	o.life.soft_bytes = 100;
	o.life.hard_bytes = 200;
	assert_int_equal(ss_dp_sa_add(dp, &o, 0), 0);
	ss_dp_event ev[8];
	int soft = 0, hard = 0;
	for (int round = 0; round < 6 && !hard; round++) {
		f->out_len[0] = udp4(f->out[0], "10.0.0.1", "10.0.0.2", 40, 1);
		f->n_out = 1;
		ss_dp_process(dp, 100, 10);
		int n = events(dp, ev, 8);
		for (int i = 0; i < n; i++)
			if (ev[i].kind == SS_DP_EV_ACQUIRE)
				ss_dp_verdict(dp, ev[i].handle, SS_DP_PKT_ESP, 10);
		ss_dp_flush(dp, 10);
		n = events(dp, ev, 8);
		for (int i = 0; i < n; i++) {
			assert_int_equal(ev[i].reqid, 42);
			assert_int_equal(ev[i].why, SS_DP_WHY_BYTES);
			soft += ev[i].kind == SS_DP_EV_SA_SOFT;
			hard += ev[i].kind == SS_DP_EV_SA_HARD;
		}
	}
	assert_int_equal(soft, 1);
	assert_int_equal(hard, 1);
	ss_dp_sa_counters c;
	assert_int_equal(ss_dp_sa_query(dp, &o.id, &c), -ENOENT); /* gone, as in the kernel */
	/* Time limits come through the deadline. */
	ss_dp_sa t = gcm_sa(0x3000, SS_DP_OUT, "10.0.0.1", "10.0.0.2", 43);
	t.life.soft_seconds = 9;
	t.life.hard_seconds = 10;
	assert_int_equal(ss_dp_sa_add(dp, &t, 1000), 0);
	assert_true(ss_dp_deadline(dp) <= 1000 + 9000);
	ss_dp_process(dp, -1, 1000 + 9000);
	assert_int_equal(events(dp, ev, 8), 1);
	assert_int_equal(ev[0].kind, SS_DP_EV_SA_SOFT);
	assert_int_equal(ev[0].why, SS_DP_WHY_TIME);
	ss_dp_process(dp, -1, 1000 + 10000);
	assert_int_equal(events(dp, ev, 8), 1);
	assert_int_equal(ev[0].kind, SS_DP_EV_SA_HARD);
	ss_dp_close(dp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_held),
		cmocka_unit_test(test_sas),
		cmocka_unit_test(test_sas_scale),
		cmocka_unit_test(test_acquire_and_verdicts),
		cmocka_unit_test(test_esp_both_ways_and_unknown_spi),
		cmocka_unit_test(test_lifetimes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
