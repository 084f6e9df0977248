/* ESP encap/decap: round trips over every suite, mode, family, ESN and UDP encapsulation;
 * one test per decap failure kind, each counted apart; lifetimes and sequence exhaustion;
 * the SAD; the RFC 3602 §4 ESP packets as known answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "esp/sa.h"
#include "esp_testutil.h"

#define CAP 2048
#define HEAD 128

typedef struct pair {
	ss_esp_sad *a, *b;      /* sender's and receiver's SADs */
	ss_esp_sa *out, *in;
} pair;

static pair mkpair(const tu_suite *s, int mode, int fam, bool esn, bool udp)
{
	pair p;
	p.a = ss_esp_sad_new();
	p.b = ss_esp_sad_new();
	const char *why = NULL;
	ss_esp_params o = tu_params(s, SS_ESP_OUT, mode, fam, esn, udp, 0x1001);
	ss_esp_params i = tu_params(s, SS_ESP_IN, mode, fam, esn, udp, 0x1001);
	p.out = ss_esp_sad_add(p.a, &o, 0, &why);
	if (!p.out)
		fail_msg("out SA: %s", why);
	p.in = ss_esp_sad_add(p.b, &i, 0, &why);
	if (!p.in)
		fail_msg("in SA: %s", why);
	return p;
}

static void freepair(pair *p)
{
	ss_esp_sad_free(p->a);
	ss_esp_sad_free(p->b);
}

typedef struct pkt {
	uint8_t buf[CAP];
	ss_esp_pkt p;
	uint8_t orig[CAP];
	size_t orig_len;
} pkt;

static void mkpkt(pkt *k, int fam, size_t payload, uint8_t fill)
{
	memset(k, 0, sizeof(*k));
	size_t n = fam == 4 ? tu_inner(k->buf + HEAD, CAP - HEAD, "10.1.0.1", "10.2.0.2", 1234, 53, payload, fill)
			    : tu_inner(k->buf + HEAD, CAP - HEAD, "fd00:1::1", "fd00:2::2", 1234, 53, payload, fill);
	assert_true(n > 0);
	memcpy(k->orig, k->buf + HEAD, n);
	k->orig_len = n;
	k->p = (ss_esp_pkt){ .base = k->buf, .cap = CAP, .off = HEAD, .len = (uint32_t)n };
}

/* Transport mode keeps the endpoints: the inner packet carries the SA's addresses. */
static void mkpkt_transport(pkt *k, int fam, size_t payload, uint8_t fill)
{
	memset(k, 0, sizeof(*k));
	size_t n = fam == 4 ? tu_inner(k->buf + HEAD, CAP - HEAD, "192.0.2.1", "192.0.2.2", 1234, 53, payload, fill)
			    : tu_inner(k->buf + HEAD, CAP - HEAD, "2001:db8::1", "2001:db8::2", 1234, 53, payload, fill);
	assert_true(n > 0);
	memcpy(k->orig, k->buf + HEAD, n);
	k->orig_len = n;
	k->p = (ss_esp_pkt){ .base = k->buf, .cap = CAP, .off = HEAD, .len = (uint32_t)n };
}

static void check_outer(const pkt *k, int fam, bool udp)
{
	const uint8_t *o = k->buf + k->p.off;
	if (fam == 4) {
		assert_int_equal(o[0], 0x45);
		assert_int_equal(o[2] << 8 | o[3], k->p.len);
		assert_int_equal(o[9], udp ? SS_IPPROTO_UDP : SS_IPPROTO_ESP);
		assert_int_equal(ss_csum_fold(ss_csum_add(0, o, 20)), 0xffff);
	} else {
		assert_int_equal(o[0] >> 4, 6);
		assert_int_equal((o[4] << 8 | o[5]) + 40, k->p.len);
		assert_int_equal(o[6], udp ? SS_IPPROTO_UDP : SS_IPPROTO_ESP);
	}
	if (udp && fam == 6) {
		/* The UDP checksum over the pseudo-header verifies to 0xffff. */
		size_t ul = k->p.len - 40;
		uint8_t ph[8] = { 0, 0, (uint8_t)(ul >> 8), (uint8_t)ul, 0, 0, 0, SS_IPPROTO_UDP };
		uint32_t s = ss_csum_add(0, o + 8, 32);
		s = ss_csum_add(s, ph, 8);
		s = ss_csum_add(s, o + 40, ul);
		assert_int_equal(ss_csum_fold(s), 0xffff);
	}
}

/* Outer packet -> parse_outer -> decap: the way the dataplane feeds a raw socket's bytes. */
static int receive(pair *pr, pkt *k)
{
	int r = ss_esp_parse_outer(&k->p);
	if (r != SS_ESP_OK)
		return r;
	ss_esp_decap_batch(pr->b, &k->p, 1, 0);
	return k->p.result;
}

static void roundtrip_all(void **state)
{
	static const size_t sizes[] = { 0, 1, 13, 100, 1400 };
	int n = 0;
	for (size_t s = 0; s < TU_NSUITES; s++)
	for (int mode = 0; mode <= 1; mode++)
	for (int fam = 4; fam <= 6; fam += 2)
	for (int esn = 0; esn <= 1; esn++)
	for (int udp = 0; udp <= 1; udp++) {
		pair pr = mkpair(&tu_suites[s], mode, fam, esn, udp);
		for (size_t z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
			pkt k;
			if (mode == SS_ESP_TUNNEL)
				mkpkt(&k, z & 1 ? 4 : 6, sizes[z], (uint8_t)z);
			else
				mkpkt_transport(&k, fam, sizes[z], (uint8_t)z);
			assert_int_equal(ss_esp_encap_batch(pr.out, &k.p, 1, 0), 1);
			check_outer(&k, fam, udp);
			/* Exact in tunnel mode, an upper bound in transport mode. */
			size_t ovh = ss_esp_sa_overhead(pr.out, k.orig_len);
			if (mode == SS_ESP_TUNNEL)
				assert_int_equal(k.p.len, k.orig_len + ovh);
			else
				assert_true(k.p.len <= k.orig_len + ovh);
			int r = receive(&pr, &k);
			if (r != SS_ESP_OK)
				fail_msg("%s mode %d v%d esn %d udp %d size %zu: %s", tu_suites[s].name, mode,
					 fam, esn, udp, sizes[z], ss_esp_result_name(r));
			assert_int_equal(k.p.len, k.orig_len);
			assert_memory_equal(k.buf + k.p.off, k.orig, k.orig_len);
			n++;
		}
		assert_int_equal(ss_esp_sa_counters(pr.in)->packets, 5);
		assert_int_equal(ss_esp_sa_counters(pr.out)->packets, 5);
		freepair(&pr);
	}
	print_message("%d round trips\n", n);
}

/* A batch in, a batch out; a duplicate inside one batch is caught. */
static void batch(void **state)
{
	pair pr = mkpair(&tu_suites[0], SS_ESP_TUNNEL, 4, false, false);
	pkt k[8];
	ss_esp_pkt v[9];
	for (int i = 0; i < 8; i++) {
		mkpkt(&k[i], 4, 50 + (size_t)i, (uint8_t)i);
		v[i] = k[i].p;
	}
	assert_int_equal(ss_esp_encap_batch(pr.out, v, 8, 0), 8);
	uint8_t dup[CAP];
	memcpy(dup, k[3].buf, CAP);
	v[8] = v[3];
	v[8].base = dup;
	for (int i = 0; i < 9; i++)
		v[i].off += v[i].outer_hdr_len, v[i].len -= v[i].outer_hdr_len;
	assert_int_equal(ss_esp_decap_batch(pr.b, v, 9, 0), 8);
	for (int i = 0; i < 8; i++) {
		assert_int_equal(v[i].result, SS_ESP_OK);
		assert_ptr_equal(v[i].sa, pr.in);
		assert_memory_equal(k[i].buf + v[i].off, k[i].orig, k[i].orig_len);
	}
	assert_int_equal(v[8].result, SS_ESP_E_REPLAY);
	assert_int_equal(ss_esp_sa_seq(pr.in), 8);
	freepair(&pr);
}

static int decap1(pair *pr, pkt *k)
{
	ss_esp_decap_batch(pr->b, &k->p, 1, 0);
	return k->p.result;
}

/* ESP-only output at a stride: equal inner packets come out as back-to-back ESP packets, the
 * layout one UDP GSO send wants.  Each slice then decapsulates to its inner packet.  (Tunnel
 * mode: in transport mode the inner header is dropped from in front of the ESP header, where
 * the previous packet's ICV lands -- see esp.h.) */
static void gso_layout(void **state)
{
	for (size_t s = 0; s < TU_NSUITES; s++)
	for (int mode = 1; mode <= 1; mode++) {
		pair pr = mkpair(&tu_suites[s], mode, 4, true, true);
		pkt one;
		mkpkt(&one, 4, 300, 0);
		assert_int_equal(ss_esp_encap_batch_flags(pr.out, &one.p, 1, 0, SS_ESP_ENCAP_ESP_ONLY), 1);
		assert_int_equal(one.p.outer_hdr_len, 0);
		assert_int_equal(one.p.sport, 4500);
		size_t S = one.p.len, L = one.orig_len;
		size_t pre = 8 + pr.out->cr.iv_len, base = 64;
		size_t hl = mode == SS_ESP_TRANSPORT ? 20 : 0;
		static uint8_t big[8 * CAP];
		ss_esp_pkt v[4];
		for (int i = 0; i < 4; i++) {
			size_t at = base + (size_t)i * S + pre - hl;
			memcpy(big + at, one.orig, L);
			big[at + L - 1] = (uint8_t)i; /* tell them apart */
			v[i] = (ss_esp_pkt){ .base = big, .cap = sizeof(big), .off = (uint32_t)at, .len = (uint32_t)L };
		}
		size_t got = ss_esp_encap_batch_flags(pr.out, v, 4, 0, SS_ESP_ENCAP_ESP_ONLY);
		if (got != 4)
			fail_msg("%s mode %d: %s %s %s %s", tu_suites[s].name, mode, ss_esp_result_name(v[0].result),
				 ss_esp_result_name(v[1].result), ss_esp_result_name(v[2].result), ss_esp_result_name(v[3].result));
		for (int i = 0; i < 4; i++) {
			assert_int_equal(v[i].off, base + (size_t)i * S);
			assert_int_equal(v[i].len, S);
		}
		for (int i = 0; i < 4; i++) {
			pkt k;
			memset(&k, 0, sizeof(k));
			memcpy(k.buf + HEAD, big + base + (size_t)i * S, S);
			k.p = (ss_esp_pkt){ .base = k.buf, .cap = CAP, .off = HEAD, .len = (uint32_t)S,
					    .src = v[i].src, .dst = v[i].dst };
			if (decap1(&pr, &k) != SS_ESP_OK)
				fail_msg("%s mode %d slice %d: %s", tu_suites[s].name, mode, i, ss_esp_result_name(k.p.result));
			assert_int_equal(k.p.len, L);
			assert_memory_equal(k.buf + k.p.off + hl, one.orig + hl, L - hl - 1);
			assert_int_equal(k.buf[k.p.off + L - 1], i);
		}
		freepair(&pr);
	}
}

/* Inner ECN bits of packet k (IPv4 or IPv6 at p.off). */
static uint8_t ecn_of(const uint8_t *h) { return (uint8_t)((h[0] >> 4 == 4 ? h[1] : (h[0] << 4 | h[1] >> 4)) & 3); }

static void set_ecn(uint8_t *h, uint8_t e)
{
	if (h[0] >> 4 == 4) {
		h[1] = (uint8_t)((h[1] & ~3) | e);
		h[10] = h[11] = 0;
		uint16_t c = (uint16_t)~ss_csum_fold(ss_csum_add(0, h, 20));
		h[10] = (uint8_t)(c >> 8), h[11] = (uint8_t)c;
	} else {
		h[1] = (uint8_t)((h[1] & ~0x30) | e << 4);
	}
}

/* RFC 6040: the inner ECN is copied out on encap and combined with the outer one on decap. */
static void ecn(void **state)
{
	enum { NOT = 0, E1 = 1, E0 = 2, CE = 3, DROP = 9 };
	static const struct { uint8_t inner, outer, want; } t[] = {
		/* 1 */ { E0, CE, CE },
		/* 2 */ { E1, CE, CE },
		/* 3 */ { NOT, CE, DROP },
		/* 4 */ { E0, E1, E1 },
		/* 5 */ { E1, E0, E1 },
		/* 6 */ { NOT, E0, NOT },
		/* 7 */ { CE, NOT, CE },
		/* 8 */ { E0, NOT, E0 },
	};
	for (int fam = 4; fam <= 6; fam += 2)
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		pair pr = mkpair(&tu_suites[0], SS_ESP_TUNNEL, fam, false, false);
		pkt k;
		mkpkt(&k, fam, 20, 0);
		set_ecn(k.buf + HEAD, t[i].inner);
		assert_int_equal(ss_esp_encap_batch(pr.out, &k.p, 1, 0), 1);
		assert_int_equal(ecn_of(k.buf + k.p.off), t[i].inner); /* copied to the outer header */
		set_ecn(k.buf + k.p.off, t[i].outer);                  /* the network marks it */
		int r = receive(&pr, &k);
		if (t[i].want == DROP) {
			assert_int_equal(r, SS_ESP_E_ECN);
		} else {
			if (r != SS_ESP_OK)
				fail_msg("v%d case %zu: %s", fam, i + 1, ss_esp_result_name(r));
			assert_int_equal(ecn_of(k.buf + k.p.off), t[i].want);
			if (fam == 4)
				assert_int_equal(ss_csum_fold(ss_csum_add(0, k.buf + k.p.off, 20)), 0xffff);
		}
		freepair(&pr);
	}
}

/* A UDP checksum verified 16 bits at a time, independent of the library's. */
static bool udp_ok(const uint8_t *h)
{
	bool v4 = h[0] >> 4 == 4;
	size_t hl = v4 ? (size_t)(h[0] & 15) * 4 : 40, alen = v4 ? 4 : 16;
	const uint8_t *src = h + (v4 ? 12 : 8), *dst = src + alen, *u = h + hl;
	size_t ulen = (size_t)(u[4] << 8 | u[5]);
	uint32_t sum = SS_IPPROTO_UDP + (uint32_t)ulen;
	for (size_t i = 0; i < alen; i += 2)
		sum += (uint32_t)(src[i] << 8 | src[i + 1]) + (uint32_t)(dst[i] << 8 | dst[i + 1]);
	for (size_t i = 0; i < ulen; i += 2)
		sum += (uint32_t)(u[i] << 8 | (i + 1 < ulen ? u[i + 1] : 0));
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

/* Transport mode over UDP through a NAT (RFC 3948 §3.1.2): the sender summed its private
 * address into the UDP checksum; the receiver rebuilds the header with the address the NAT
 * gave it and must fix the checksum, or the stack drops the packet. */
static void natt_transport_checksum(void **state)
{
	for (int fam = 4; fam <= 6; fam += 2) {
		pair pr = mkpair(&tu_suites[0], SS_ESP_TRANSPORT, fam, false, true);
		pkt k;
		memset(&k, 0, sizeof(k));
		size_t n = tu_inner(k.buf + HEAD, CAP - HEAD, fam == 4 ? "10.0.0.5" : "fd00::5",
				    fam == 4 ? "192.0.2.2" : "2001:db8::2", 4321, 53, 33, 1);
		k.p = (ss_esp_pkt){ .base = k.buf, .cap = CAP, .off = HEAD, .len = (uint32_t)n };
		assert_true(udp_ok(k.buf + HEAD));
		assert_int_equal(ss_esp_encap_batch(pr.out, &k.p, 1, 0), 1);
		assert_int_equal(ss_esp_parse_outer(&k.p), SS_ESP_OK);
		k.p.src = tu_addr(fam == 4 ? "198.51.100.7" : "2001:db8:ff::7"); /* what the NAT made */
		assert_int_equal(decap1(&pr, &k), SS_ESP_OK);
		const uint8_t *h = k.buf + k.p.off;
		assert_int_equal(h[fam == 4 ? 12 : 8], fam == 4 ? 198 : 0x20);
		assert_true(udp_ok(h));
		freepair(&pr);
	}
}

/* ESP-only in transport mode: the inner header goes, the addresses stay in the pkt. */
static void esp_only_transport(void **state)
{
	for (int fam = 4; fam <= 6; fam += 2) {
		pair pr = mkpair(&tu_suites[2], SS_ESP_TRANSPORT, fam, false, false);
		pkt k;
		mkpkt_transport(&k, fam, 77, 3);
		assert_int_equal(ss_esp_encap_batch_flags(pr.out, &k.p, 1, 0, SS_ESP_ENCAP_ESP_ONLY), 1);
		assert_int_equal(k.p.outer_hdr_len, 0);
		assert_int_equal(k.buf[k.p.off + 3], 0x01); /* SPI 0x1001 first */
		assert_true(ss_addr_eq(&k.p.dst, &pr.out->p.remote));
		assert_int_equal(decap1(&pr, &k), SS_ESP_OK);
		assert_int_equal(k.p.len, k.orig_len);
		size_t hl = fam == 4 ? 20 : 40;
		assert_memory_equal(k.buf + k.p.off + hl, k.orig + hl, k.orig_len - hl);
		freepair(&pr);
	}
}

/* Encapsulate one packet, return with k->p at the ESP header (outer stripped). */
static void sealed(pair *pr, pkt *k, int fam, size_t payload)
{
	mkpkt(k, fam, payload, 7);
	assert_int_equal(ss_esp_encap_batch(pr->out, &k->p, 1, 0), 1);
	assert_int_equal(ss_esp_parse_outer(&k->p), SS_ESP_OK);
}


static uint64_t err(const ss_esp_sa *sa, int kind) { return ss_esp_sa_counters(sa)->errors[kind]; }

/* Only the expected counter moved, by one. */
static void only_n(const ss_esp_counters *c, int kind, uint64_t n)
{
	for (int i = 1; i < SS_ESP_E_COUNT; i++)
		if (c->errors[i] != (i == kind ? n : 0))
			fail_msg("counter %s is %llu", ss_esp_result_name(i), (unsigned long long)c->errors[i]);
}

static void only(const ss_esp_counters *c, int kind) { only_n(c, kind, 1); }

static void error_nosa_and_short(void **state)
{
	pair pr = mkpair(&tu_suites[0], SS_ESP_TUNNEL, 4, false, false);
	pkt k;
	sealed(&pr, &k, 4, 20);
	k.buf[k.p.off + 3] ^= 1; /* another SPI */
	assert_int_equal(decap1(&pr, &k), SS_ESP_E_NOSA);
	assert_null(k.p.sa);
	only(ss_esp_sad_counters(pr.b), SS_ESP_E_NOSA);
	k.p.len = 7;
	assert_int_equal(decap1(&pr, &k), SS_ESP_E_MALFORMED);
	assert_int_equal(ss_esp_sad_counters(pr.b)->errors[SS_ESP_E_MALFORMED], 1);
	assert_int_equal(ss_esp_sa_counters(pr.in)->packets, 0);
	freepair(&pr);
}

static void error_replay(void **state)
{
	pair pr = mkpair(&tu_suites[2], SS_ESP_TUNNEL, 4, false, false);
	pkt k, copy;
	sealed(&pr, &k, 4, 20);
	copy = k;
	copy.p.base = copy.buf;
	assert_int_equal(decap1(&pr, &k), SS_ESP_OK);
	assert_int_equal(decap1(&pr, &copy), SS_ESP_E_REPLAY);
	only(ss_esp_sa_counters(pr.in), SS_ESP_E_REPLAY);
	freepair(&pr);
}

/* A bit flipped anywhere the ICV covers -- header, IV, ciphertext, ICV -- is an auth failure,
 * and a forged packet does not move the window. */
static void error_auth(void **state)
{
	for (size_t s = 0; s < TU_NSUITES; s++) {
		pair pr = mkpair(&tu_suites[s], SS_ESP_TUNNEL, 4, true, false);
		pkt ref;
		sealed(&pr, &ref, 4, 40);
		size_t where[] = { 4, 7, 8, 20, ref.p.len / 2, ref.p.len - 1 };
		for (size_t w = 0; w < sizeof(where) / sizeof(where[0]); w++) {
			pkt k = ref;
			k.p.base = k.buf;
			k.buf[k.p.off + where[w]] ^= 0x80;
			int r = decap1(&pr, &k);
			/* Flipping the top bit of the sequence number makes it "very new": still auth. */
			if (r != SS_ESP_E_AUTH)
				fail_msg("%s: flip at %zu gave %s", tu_suites[s].name, where[w], ss_esp_result_name(r));
		}
		assert_int_equal(ss_esp_sa_seq(pr.in), 0);
		assert_int_equal(decap1(&pr, &ref), SS_ESP_OK);
		assert_int_equal(err(pr.in, SS_ESP_E_AUTH), 6);
		freepair(&pr);
	}
}

static void error_malformed(void **state)
{
	pair pr = mkpair(&tu_suites[2], SS_ESP_TUNNEL, 4, false, false);
	pkt k;
	sealed(&pr, &k, 4, 20);
	pkt a = k;
	a.p.base = a.buf;
	a.p.len = 8 + 16 + 16 + 15; /* shorter than header + IV + one block + ICV */
	assert_int_equal(decap1(&pr, &a), SS_ESP_E_MALFORMED);
	a = k;
	a.p.base = a.buf;
	a.p.len -= 1; /* CBC ciphertext no longer whole blocks */
	assert_int_equal(decap1(&pr, &a), SS_ESP_E_MALFORMED);
	only_n(ss_esp_sa_counters(pr.in), SS_ESP_E_MALFORMED, 2);
	assert_int_equal(decap1(&pr, &k), SS_ESP_OK);
	freepair(&pr);
}

/* Hand-made ESP payloads sealed with the real SA: the ICV is right, the inside is wrong. */
static int forge(pair *pr, const uint8_t *pt, size_t ptlen, uint64_t seq)
{
	static uint8_t buf[CAP];
	ss_esp_crypto *cr = &pr->out->cr;
	size_t off = HEAD;
	ss_buf w = ss_buf_init(buf + off, CAP - off);
	ss_buf_be32(&w, 0x1001);
	ss_buf_be32(&w, (uint32_t)seq);
	ss_buf_zero(&w, cr->iv_len);
	ss_buf_put(&w, pt, ptlen);
	ss_buf_zero(&w, cr->icv_len);
	assert_true(ss_buf_ok(&w));
	assert_true(ss_esp_seal(cr, buf + off, ptlen, seq, false));
	ss_esp_pkt p = { .base = buf, .cap = CAP, .off = (uint32_t)off, .len = (uint32_t)w.len };
	ss_esp_decap_batch(pr->b, &p, 1, 0);
	return p.result;
}

static void error_pad_dummy_nexthdr(void **state)
{
	pair pr = mkpair(&tu_suites[0], SS_ESP_TUNNEL, 4, false, false);
	uint8_t in[CAP];
	size_t n = tu_inner(in, sizeof(in), "10.1.0.1", "10.2.0.2", 1, 2, 10, 0); /* 38 bytes */
	uint8_t pt[64];
	/* Good: 38 + pad 2 (1,2) + 2 = 42 -> not aligned to 4; use pad 0: 40. */
	memcpy(pt, in, n);
	pt[n] = 0, pt[n + 1] = SS_IPPROTO_IPIP;
	assert_int_equal(forge(&pr, pt, n + 2, 1), SS_ESP_OK);
	/* Padding bytes not 1, 2, 3, 4. */
	memcpy(pt, in, n);
	memcpy(pt + n, "\x01\x02\x03\x05\x04\x04", 6);
	assert_int_equal(forge(&pr, pt, n + 6, 2), SS_ESP_E_PAD);
	/* Pad length beyond the payload. */
	pt[n + 4] = 200;
	assert_int_equal(forge(&pr, pt, n + 6, 3), SS_ESP_E_PAD);
	/* Next header 59: a dummy packet (RFC 4303 §2.6), dropped on purpose. */
	memcpy(pt + n, "\x01\x02\x03\x04\x04\x3b", 6);
	assert_int_equal(forge(&pr, pt, n + 6, 4), SS_ESP_E_DUMMY);
	/* Next header TCP in a tunnel SA; IPv6 next header for an IPv4 packet. */
	memcpy(pt + n, "\x01\x02\x03\x04\x04\x06", 6);
	assert_int_equal(forge(&pr, pt, n + 6, 5), SS_ESP_E_MALFORMED);
	memcpy(pt + n, "\x01\x02\x03\x04\x04\x29", 6);
	assert_int_equal(forge(&pr, pt, n + 6, 6), SS_ESP_E_MALFORMED);
	/* Inner length field longer than what was sent. */
	memcpy(pt, in, n);
	pt[3] = (uint8_t)(n + 8);
	memcpy(pt + n, "\x01\x02\x03\x04\x04\x04", 6);
	assert_int_equal(forge(&pr, pt, n + 6, 7), SS_ESP_E_MALFORMED);
	const ss_esp_counters *c = ss_esp_sa_counters(pr.in);
	assert_int_equal(c->errors[SS_ESP_E_PAD], 2);
	assert_int_equal(c->errors[SS_ESP_E_DUMMY], 1);
	assert_int_equal(c->errors[SS_ESP_E_MALFORMED], 3);
	assert_int_equal(c->packets, 1);
	freepair(&pr);
}

static ss_esp_ts ts(const char *lo, const char *hi, uint8_t proto, uint16_t plo, uint16_t phi)
{
	return (ss_esp_ts){ .lo = tu_addr(lo), .hi = tu_addr(hi), .proto = proto, .port_lo = plo, .port_hi = phi };
}

/* The receiver's selectors are narrower than the sender's: the packet is decrypted fine
 * and then refused (RFC 4301 §5.2 step 4). */
static void error_selector(void **state)
{
	ss_esp_sad *a = ss_esp_sad_new(), *b = ss_esp_sad_new();
	ss_esp_params o = tu_params(&tu_suites[0], SS_ESP_OUT, SS_ESP_TUNNEL, 4, false, false, 0x2002);
	ss_esp_params i = tu_params(&tu_suites[0], SS_ESP_IN, SS_ESP_TUNNEL, 4, false, false, 0x2002);
	i.local_ts[0] = ts("10.2.0.0", "10.2.0.255", SS_IPPROTO_UDP, 53, 53);
	i.n_local_ts = 1;
	i.remote_ts[0] = ts("10.1.0.0", "10.1.0.9", 0, 0, 0xffff);
	i.remote_ts[1] = ts("10.1.0.100", "10.1.0.200", 0, 0, 0xffff);
	i.n_remote_ts = 2;
	ss_esp_sa *out = ss_esp_sad_add(a, &o, 0, NULL), *in = ss_esp_sad_add(b, &i, 0, NULL);
	assert_non_null(out);
	assert_non_null(in);
	struct { const char *src, *dst; uint16_t dport; int want; } cases[] = {
		{ "10.1.0.1", "10.2.0.2", 53, SS_ESP_OK },
		{ "10.1.0.150", "10.2.0.255", 53, SS_ESP_OK },
		{ "10.1.0.10", "10.2.0.2", 53, SS_ESP_E_SELECTOR },   /* between the remote ranges */
		{ "10.1.0.1", "10.2.1.2", 53, SS_ESP_E_SELECTOR },    /* outside the local range */
		{ "10.1.0.1", "10.2.0.2", 54, SS_ESP_E_SELECTOR },    /* wrong port */
		{ "fd00::1", "fd00::2", 53, SS_ESP_E_SELECTOR },      /* wrong family */
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		uint8_t buf[CAP];
		size_t n = tu_inner(buf + HEAD, CAP - HEAD, cases[c].src, cases[c].dst, 999, cases[c].dport, 10, 0);
		ss_esp_pkt p = { .base = buf, .cap = CAP, .off = HEAD, .len = (uint32_t)n };
		assert_int_equal(ss_esp_encap_batch(out, &p, 1, 0), 1);
		p.off += p.outer_hdr_len, p.len -= p.outer_hdr_len;
		ss_esp_decap_batch(b, &p, 1, 0);
		if (p.result != cases[c].want)
			fail_msg("case %zu: %s", c + 1, ss_esp_result_name(p.result));
	}
	assert_int_equal(ss_esp_sa_counters(in)->errors[SS_ESP_E_SELECTOR], 4);
	/* Outbound selectors are enforced too. */
	ss_esp_sad_del(a, out);
	o.remote_ts[0] = ts("10.2.0.0", "10.2.0.255", 0, 0, 0xffff);
	o.n_remote_ts = 1;
	out = ss_esp_sad_add(a, &o, 0, NULL);
	uint8_t buf[CAP];
	size_t n = tu_inner(buf + HEAD, CAP - HEAD, "10.1.0.1", "10.3.0.2", 1, 2, 10, 0);
	ss_esp_pkt p = { .base = buf, .cap = CAP, .off = HEAD, .len = (uint32_t)n };
	assert_int_equal(ss_esp_encap_batch(out, &p, 1, 0), 0);
	assert_int_equal(p.result, SS_ESP_E_SELECTOR);
	ss_esp_sad_free(a);
	ss_esp_sad_free(b);
}

/* Selector fields from inner packets (RFC 4301 §4.4.1): ports behind IPv6 extension headers,
 * ICMP type/code as the port, fragments whose ports are unknown (OPAQUE matches only ANY). */
static void selector_fields(void **state)
{
	ss_esp_params p;
	memset(&p, 0, sizeof(p));
	p.local_ts[0] = ts("fd00::", "fd00::ffff", 0, 0, 0xffff);
	p.remote_ts[0] = ts("fd01::", "fd01::ffff", SS_IPPROTO_UDP, 53, 53);
	p.remote_ts[1] = ts("192.0.2.0", "192.0.2.255", SS_IPPROTO_ICMP, 8 << 8, 8 << 8 | 255); /* echo */
	p.local_ts[1] = ts("198.51.100.0", "198.51.100.255", 0, 0, 0xffff);
	p.n_local_ts = p.n_remote_ts = 2;
	uint8_t b[256];
	ss_ip_hdr f;

	/* UDP from fd01::1 port 53 behind a hop-by-hop and a destination options header. */
	size_t n = tu_inner(b, sizeof(b), "fd01::1", "fd00::2", 53, 9999, 4, 0);
	uint8_t ext[16] = { SS_IPPROTO_DSTOPTS, 0, 1, 4, 0, 0, 0, 0, SS_IPPROTO_UDP, 0, 1, 4, 0, 0, 0, 0 };
	memmove(b + 56, b + 40, n - 40);
	memcpy(b + 40, ext, 16);
	b[6] = SS_IPPROTO_HOPOPTS;
	b[5] = (uint8_t)(b[5] + 16);
	assert_true(ss_ip_parse(b, n + 16, 0, &f));
	assert_int_equal(f.proto, SS_IPPROTO_UDP);
	assert_int_equal(f.sport, 53);
	assert_true(ss_ts_match(&p, &f, true));
	/* The same as a non-first fragment: no ports, the port-53 selector cannot match. */
	uint8_t frag[8] = { SS_IPPROTO_UDP, 0, 0x00, 0x08, 0, 0, 0, 1 };
	memcpy(b + 48, frag, 8);
	b[40] = SS_IPPROTO_FRAGMENT;
	assert_true(ss_ip_parse(b, n + 16, 0, &f));
	assert_true(f.fragment && !f.ports_known);
	assert_false(ss_ts_match(&p, &f, true));
	/* An extension header running past the packet. */
	b[41] = 200;
	b[40] = SS_IPPROTO_DSTOPTS;
	assert_false(ss_ip_parse(b, n + 16, 0, &f));

	/* ICMP echo request (type 8) from 192.0.2.7 matches; echo reply (type 0) does not. */
	uint8_t icmp[28] = { 0x45, 0, 0, 28, 0, 0, 0, 0, 64, SS_IPPROTO_ICMP, 0, 0, 192, 0, 2, 7,
			     198, 51, 100, 1, 8, 0, 0, 0, 0, 0, 0, 0 };
	assert_true(ss_ip_parse(icmp, sizeof(icmp), 0, &f));
	assert_int_equal(f.sport, 8 << 8);
	assert_true(ss_ts_match(&p, &f, true));
	icmp[20] = 0;
	assert_true(ss_ip_parse(icmp, sizeof(icmp), 0, &f));
	assert_false(ss_ts_match(&p, &f, true));
	/* Outbound the sides swap: our address is the source. */
	icmp[20] = 8;
	memcpy(icmp + 12, (uint8_t[]){ 198, 51, 100, 1, 192, 0, 2, 7 }, 8);
	assert_true(ss_ip_parse(icmp, sizeof(icmp), 0, &f));
	assert_true(ss_ts_match(&p, &f, false));
	assert_false(ss_ts_match(&p, &f, true));
	/* Header length fields that lie. */
	icmp[0] = 0x44;
	assert_false(ss_ip_parse(icmp, sizeof(icmp), 0, &f));
	icmp[0] = 0x45, icmp[3] = 29;
	assert_false(ss_ip_parse(icmp, sizeof(icmp), 0, &f));
}

static void encap_refusals(void **state)
{
	pair pr = mkpair(&tu_suites[0], SS_ESP_TRANSPORT, 6, false, false);
	pkt k;
	mkpkt_transport(&k, 6, 10, 0);
	k.buf[HEAD + 6] = SS_IPPROTO_HOPOPTS; /* an extension header before ESP's place */
	k.buf[HEAD + 40] = SS_IPPROTO_UDP;    /* (its next header; length 0 = 8 bytes) */
	k.buf[HEAD + 41] = 0;
	assert_int_equal(ss_esp_encap_batch(pr.out, &k.p, 1, 0), 0);
	assert_int_equal(k.p.result, SS_ESP_E_UNSUPPORTED);
	mkpkt_transport(&k, 6, 10, 0);
	k.p.off = 10; /* no headroom */
	memmove(k.buf + 10, k.buf + HEAD, k.orig_len);
	assert_int_equal(ss_esp_encap_batch(pr.out, &k.p, 1, 0), 0);
	assert_int_equal(k.p.result, SS_ESP_E_NOROOM);
	mkpkt_transport(&k, 6, 10, 0);
	k.p.cap = (uint32_t)(HEAD + k.orig_len + 4); /* no tailroom */
	assert_int_equal(ss_esp_encap_batch(pr.out, &k.p, 1, 0), 0);
	assert_int_equal(k.p.result, SS_ESP_E_NOROOM);
	mkpkt_transport(&k, 6, 10, 0);
	k.buf[HEAD] = 0x50; /* version 5 */
	assert_int_equal(ss_esp_encap_batch(pr.out, &k.p, 1, 0), 0);
	assert_int_equal(k.p.result, SS_ESP_E_MALFORMED);
	/* Inbound SAs do not encapsulate; none of this used a sequence number. */
	mkpkt_transport(&k, 6, 10, 0);
	assert_int_equal(ss_esp_encap_batch(pr.in, &k.p, 1, 0), 0);
	assert_int_equal(ss_esp_sa_seq(pr.out), 0);
	freepair(&pr);
}

static void lifetimes(void **state)
{
	ss_esp_sad *sad = ss_esp_sad_new();
	int cookie;
	ss_esp_params o = tu_params(&tu_suites[0], SS_ESP_OUT, SS_ESP_TUNNEL, 4, false, false, 0x3003);
	o.life = (ss_esp_lifetime){ .soft_seconds = 10, .hard_seconds = 20, .soft_bytes = 1000, .hard_bytes = 2000 };
	o.user = &cookie;
	ss_time t0 = 5000;
	ss_esp_sa *sa = ss_esp_sad_add(sad, &o, t0, NULL);
	assert_non_null(sa);
	ss_esp_event ev[4];
	ss_time soft_at, hard_at;
	uint64_t bytes;
	ss_esp_sa_lifetime(sa, &soft_at, &hard_at, &bytes);
	assert_true(soft_at == t0 + 10000 && hard_at == t0 + 20000 && bytes == 0);
	assert_null(ss_esp_sa_params(sa)->encr_key);
	assert_null(ss_esp_sa_params(sa)->integ_key);
	assert_int_equal(ss_esp_sa_params(sa)->spi, 0x3003);
	assert_int_equal(ss_esp_sad_tick(sad, t0), t0 + 10000);
	assert_int_equal(ss_esp_sad_events(sad, ev, 4), 0);
	/* Bytes: 600 per packet; the second crosses soft, the fourth hard. */
	for (int i = 0; i < 4; i++) {
		pkt k;
		mkpkt(&k, 4, 600 - 28, 0);
		assert_int_equal(ss_esp_encap_batch(sa, &k.p, 1, t0), 1);
		assert_int_equal(ss_esp_sad_events(sad, ev, 4), i == 1 || i == 3);
		if (i == 1)
			assert_true(ev[0].kind == SS_ESP_EV_SOFT && ev[0].reason == SS_ESP_WHY_BYTES &&
				    ev[0].spi == 0x3003 && ev[0].dir == SS_ESP_OUT && ev[0].user == &cookie);
		if (i == 3)
			assert_true(ev[0].kind == SS_ESP_EV_HARD && ev[0].reason == SS_ESP_WHY_BYTES);
	}
	assert_true(ss_esp_sa_dead(sa));
	pkt k;
	mkpkt(&k, 4, 10, 0);
	assert_int_equal(ss_esp_encap_batch(sa, &k.p, 1, t0), 0);
	assert_int_equal(k.p.result, SS_ESP_E_EXPIRED);
	/* Time: a second SA; soft at +10 s, hard at +20 s, each reported once, tick deadlines. */
	o.spi = 0x3004;
	o.life = (ss_esp_lifetime){ .soft_seconds = 10, .hard_seconds = 20 };
	sa = ss_esp_sad_add(sad, &o, t0, NULL);
	assert_int_equal(ss_esp_sad_tick(sad, t0 + 9999), t0 + 10000);
	assert_int_equal(ss_esp_sad_events(sad, ev, 4), 0);
	assert_int_equal(ss_esp_sad_tick(sad, t0 + 10000), t0 + 20000);
	assert_int_equal(ss_esp_sad_tick(sad, t0 + 15000), t0 + 20000);
	assert_int_equal(ss_esp_sad_events(sad, ev, 4), 1);
	assert_true(ev[0].kind == SS_ESP_EV_SOFT && ev[0].reason == SS_ESP_WHY_TIME && ev[0].spi == 0x3004);
	/* The datapath notices the hard limit itself even before the next tick. */
	mkpkt(&k, 4, 10, 0);
	assert_int_equal(ss_esp_encap_batch(sa, &k.p, 1, t0 + 20000), 0);
	assert_int_equal(k.p.result, SS_ESP_E_EXPIRED);
	assert_int_equal(ss_esp_sad_tick(sad, t0 + 30000), SS_NEVER);
	assert_int_equal(ss_esp_sad_events(sad, ev, 1), 1);
	assert_true(ev[0].kind == SS_ESP_EV_HARD && ev[0].reason == SS_ESP_WHY_TIME);
	assert_int_equal(ss_esp_sad_events(sad, ev, 4), 0);
	ss_esp_sad_free(sad);
}

/* The deadline heap against a naive model: 400 SAs with random soft and hard lifetimes
 * (some without one), deleted now and then; after every tick each SA has reported exactly
 * the limits it passed, and the tick returns the earliest limit still ahead. */
static void tick_heap_vs_naive(void **state)
{
	enum { NSA = 400 };
	ss_esp_sad *sad = ss_esp_sad_new();
	ss_esp_sa *sa[NSA];
	uint32_t soft[NSA], hard[NSA];
	srand(14);
	for (int i = 0; i < NSA; i++) {
		ss_esp_params p = tu_params(&tu_suites[0], i % 2 ? SS_ESP_IN : SS_ESP_OUT, SS_ESP_TUNNEL, 4, false, false,
					    0x9000 + (uint32_t)i);
		hard[i] = rand() % 5 ? 1 + (uint32_t)(rand() % 200) : 0;
		soft[i] = hard[i] && rand() % 4 ? (uint32_t)(rand() % hard[i]) : 0;
		p.life = (ss_esp_lifetime){ .soft_seconds = soft[i], .hard_seconds = hard[i] };
		assert_non_null(sa[i] = ss_esp_sad_add(sad, &p, 0, NULL));
	}
	for (ss_time now = 0; now <= 210000; now += 1 + (ss_time)(rand() % 3000)) {
		ss_time next = ss_esp_sad_tick(sad, now), want = SS_NEVER;
		for (int i = 0; i < NSA; i++) {
			if (!sa[i])
				continue;
			ss_time s = soft[i] ? (ss_time)soft[i] * 1000 : SS_NEVER, h = hard[i] ? (ss_time)hard[i] * 1000 : SS_NEVER;
			assert_int_equal(sa[i]->dead, now >= h);
			if (now < h) /* past hard, soft was reported only if a tick came between */
				assert_int_equal(!!(sa[i]->reported & SS_SA_SOFT), now >= s);
			if (now < h)
				want = ss_time_min(want, now < s ? ss_time_min(s, h) : h);
		}
		assert_int_equal(next, want);
		ss_esp_event ev[64];
		while (ss_esp_sad_events(sad, ev, 64))
			;
		int k = rand() % NSA; /* a delete now and then, as the daemon does on HARD */
		if (sa[k] && rand() % 3 == 0) {
			ss_esp_sad_del(sad, sa[k]);
			sa[k] = NULL;
		}
	}
	ss_esp_sad_free(sad);
}

/* Events come out in the order the SAs first had one, soft before hard for one SA; a short
 * drain leaves the rest queued; a deleted SA's undrained events go with it.  (A tick that
 * finds an SA already past its hard limit reports only the hard event.) */
static void events_drain(void **state)
{
	ss_esp_sad *sad = ss_esp_sad_new();
	for (int i = 0; i < 3; i++) {
		ss_esp_params p = tu_params(&tu_suites[0], SS_ESP_IN, SS_ESP_TUNNEL, 4, false, false, 0x5000 + (uint32_t)i);
		p.life = (ss_esp_lifetime){ .soft_seconds = 1, .hard_seconds = 2 };
		assert_non_null(ss_esp_sad_add(sad, &p, 0, NULL));
	}
	assert_int_equal(ss_esp_sad_tick(sad, 1000), 2000);     /* all soft */
	assert_int_equal(ss_esp_sad_tick(sad, 2000), SS_NEVER); /* all hard, before any drain */
	ss_esp_event ev[8];
	assert_int_equal(ss_esp_sad_events(sad, ev, 1), 1);
	uint32_t first = ev[0].spi;
	assert_int_equal(ev[0].kind, SS_ESP_EV_SOFT);
	assert_int_equal(ss_esp_sad_events(sad, ev, 1), 1);
	assert_true(ev[0].spi == first && ev[0].kind == SS_ESP_EV_HARD);
	/* Delete one of the two still queued: only the other's two events remain. */
	ss_esp_sa *victim = ss_esp_sad_find(sad, first == 0x5000 ? 0x5001 : 0x5000, SS_ESP_IN);
	uint32_t gone = ss_esp_sa_spi(victim);
	ss_esp_sad_del(sad, victim);
	assert_int_equal(ss_esp_sad_events(sad, ev, 8), 2);
	assert_true(ev[0].spi == ev[1].spi && ev[0].spi != gone && ev[0].spi != first);
	assert_true(ev[0].kind == SS_ESP_EV_SOFT && ev[1].kind == SS_ESP_EV_HARD);
	assert_int_equal(ss_esp_sad_events(sad, ev, 8), 0);
	/* Dead SAs pass nothing. */
	uint8_t buf[CAP];
	size_t n = tu_inner(buf + HEAD, CAP - HEAD, "10.1.0.1", "10.2.0.2", 1, 2, 3, 0);
	ss_esp_pkt k = { .base = buf, .cap = CAP, .off = HEAD, .len = (uint32_t)n };
	assert_true(ss_esp_sa_dead(ss_esp_sad_find(sad, first, SS_ESP_IN)));
	ss_put32(buf + HEAD, first);
	ss_esp_decap_batch(sad, &k, 1, 2000);
	assert_int_equal(k.result, SS_ESP_E_EXPIRED);
	ss_esp_sad_free(sad);
}

/* RFC 4303 §3.3.3: the sender never wraps.  White-box: start near the end. */
static void seq_exhaustion(void **state)
{
	pair pr = mkpair(&tu_suites[0], SS_ESP_TUNNEL, 4, false, false);
	pr.out->seq = 0xfffffffdULL;
	pr.in->replay.top = 0xfffffffdULL;
	ss_esp_event ev[4];
	for (int i = 0; i < 3; i++) {
		pkt k;
		mkpkt(&k, 4, 10, 0);
		size_t ok = ss_esp_encap_batch(pr.out, &k.p, 1, 0);
		assert_int_equal(ok, i < 2);
		if (ok) {
			k.p.off += k.p.outer_hdr_len, k.p.len -= k.p.outer_hdr_len;
			assert_int_equal(decap1(&pr, &k), SS_ESP_OK);
		} else {
			assert_int_equal(k.p.result, SS_ESP_E_EXPIRED);
		}
	}
	assert_int_equal(ss_esp_sa_seq(pr.in), 0xffffffffULL);
	assert_int_equal(ss_esp_sad_events(pr.a, ev, 4), 2);
	assert_true(ev[0].kind == SS_ESP_EV_SOFT && ev[0].reason == SS_ESP_WHY_SEQ);
	assert_true(ev[1].kind == SS_ESP_EV_HARD && ev[1].reason == SS_ESP_WHY_SEQ);
	freepair(&pr);
}

/* ESN: crossing 2^32 works, and the high half really is authenticated: a receiver that
 * believes another subspace rejects the packet. */
static void esn_crossing(void **state)
{
	for (size_t s = 0; s < TU_NSUITES; s++) {
		pair pr = mkpair(&tu_suites[s], SS_ESP_TUNNEL, 6, true, false);
		pr.out->seq = 0xfffffffeULL;
		pr.in->replay.top = 0xfffffff0ULL;
		for (int i = 0; i < 3; i++) {
			pkt k;
			sealed(&pr, &k, 6, 30);
			assert_int_equal(decap1(&pr, &k), SS_ESP_OK);
		}
		assert_int_equal(ss_esp_sa_seq(pr.in), 0x100000001ULL);
		pkt k;
		sealed(&pr, &k, 6, 30); /* 2^32 + 2 */
		pr.in->replay.top = 0x200000000ULL; /* receiver thinks it is in subspace 2 */
		assert_int_equal(decap1(&pr, &k), SS_ESP_E_AUTH);
		freepair(&pr);
	}
}

static void refused(ss_esp_sad *sad, const ss_esp_params *p)
{
	const char *why = NULL;
	size_t before = ss_esp_sad_count(sad);
	assert_null(ss_esp_sad_add(sad, p, 0, &why));
	assert_non_null(why);
	assert_int_equal(ss_esp_sad_count(sad), before);
}

static void sad_management(void **state)
{
	ss_esp_sad *sad = ss_esp_sad_new();
	const char *why = NULL;
	ss_esp_params p = tu_params(&tu_suites[0], SS_ESP_IN, SS_ESP_TUNNEL, 4, false, false, 0);
	for (uint32_t i = 0; i < 2000; i++) {
		p.spi = 0x10000 + i * 7919;
		p.dir = (uint8_t)(i & 1);
		assert_non_null(ss_esp_sad_add(sad, &p, 0, &why));
	}
	assert_int_equal(ss_esp_sad_count(sad), 2000);
	p.spi = 0x10000;
	p.dir = 0;
	assert_null(ss_esp_sad_add(sad, &p, 0, &why));
	assert_non_null(strstr(why, "exists"));
	for (uint32_t i = 0; i < 2000; i++) {
		ss_esp_sa *sa = ss_esp_sad_find(sad, 0x10000 + i * 7919, (int)(i & 1));
		assert_non_null(sa);
		assert_null(ss_esp_sad_find(sad, 0x10000 + i * 7919, (int)!(i & 1)));
		if (i % 3 == 0)
			ss_esp_sad_del(sad, sa);
	}
	assert_int_equal(ss_esp_sad_count(sad), 2000 - 667);
	for (uint32_t i = 0; i < 2000; i++)
		assert_true((ss_esp_sad_find(sad, 0x10000 + i * 7919, (int)(i & 1)) == NULL) == (i % 3 == 0));

	/* Bad parameters, each refused with a reason. */
	ss_esp_params q = tu_params(&tu_suites[0], SS_ESP_OUT, SS_ESP_TUNNEL, 4, false, false, 255);
	refused(sad, &q); /* reserved SPI */
	q.spi = 0x999;
	q.integ = SS_INTEG_HMAC_SHA2_256_128;
	refused(sad, &q); /* GCM with an integrity transform */
	q = tu_params(&tu_suites[0], SS_ESP_OUT, SS_ESP_TUNNEL, 4, false, false, 0x999);
	q.encr_key_len = 16;
	refused(sad, &q); /* GCM key without salt */
	q = tu_params(&tu_suites[2], SS_ESP_OUT, SS_ESP_TUNNEL, 4, false, false, 0x999);
	q.integ = SS_INTEG_NONE;
	refused(sad, &q); /* CBC without integrity */
	q = tu_params(&tu_suites[2], SS_ESP_OUT, SS_ESP_TUNNEL, 4, false, false, 0x999);
	q.integ_key_len = 20;
	refused(sad, &q); /* short HMAC key */
	q = tu_params(&tu_suites[0], SS_ESP_OUT, SS_ESP_TUNNEL, 4, false, false, 0x999);
	q.remote = tu_addr("2001:db8::1");
	refused(sad, &q); /* mixed outer families */
	q = tu_params(&tu_suites[0], SS_ESP_OUT, SS_ESP_TUNNEL, 4, false, false, 0x999);
	q.life.soft_bytes = 10, q.life.hard_bytes = 5;
	refused(sad, &q); /* soft after hard */
	q = tu_params(&tu_suites[0], SS_ESP_OUT, SS_ESP_TUNNEL, 4, false, false, 0x999);
	q.udp_local_port = 4500;
	refused(sad, &q); /* one UDP port */
	q = tu_params(&tu_suites[0], SS_ESP_OUT, SS_ESP_TUNNEL, 4, false, false, 0x999);
	q.local_ts[0] = ts("10.0.0.9", "10.0.0.1", 0, 0, 0xffff);
	q.n_local_ts = 1;
	refused(sad, &q); /* reversed selector range */
	ss_esp_sad_free(sad);
}

#include "rfc3602.inc"

/* RFC 3602 §4 cases 5-8: ESP packets with AES-CBC and no ICV (the RFC's packets carry
 * none), so the SA is confidentiality-only.  Decap the RFC bytes; encap with the RFC's IV
 * and compare byte for byte. */
struct kat {
	const uint8_t *key, *msg, *pt;
	size_t msg_len, pt_len;
	uint32_t spi, seq;
	int mode;
};

static void rfc3602(void **state)
{
	const struct kat kats[] = {
		{ k56, c5_msg, c5_pt, sizeof(c5_msg), sizeof(c5_pt), 0x4321, 1, SS_ESP_TRANSPORT },
		{ k56, c6_msg, c6_pt, sizeof(c6_msg), sizeof(c6_pt), 0x4321, 8, SS_ESP_TRANSPORT },
		{ k78, c7_msg, c7_pt, sizeof(c7_msg), sizeof(c7_pt), 0x8765, 2, SS_ESP_TUNNEL },
		{ k78, c8_msg, c8_pt, sizeof(c8_msg), sizeof(c8_pt), 0x8765, 5, SS_ESP_TUNNEL },
	};
	for (size_t i = 0; i < 4; i++) {
		const struct kat *t = &kats[i];
		ss_esp_sad *sad = ss_esp_sad_new();
		ss_esp_params p = {
			.spi = t->spi, .dir = SS_ESP_IN, .mode = (uint8_t)t->mode, .encr = SS_ENCR_AES_CBC,
			.encr_key = t->key, .encr_key_len = 16, .allow_no_integrity = true,
			.local = tu_addr("192.168.123.100"), .remote = tu_addr("192.168.123.3"),
		};
		ss_esp_sa *in = ss_esp_sad_add(sad, &p, 0, NULL);
		p.dir = SS_ESP_OUT;
		ss_esp_sa *out = ss_esp_sad_add(sad, &p, 0, NULL);
		assert_non_null(in);
		assert_non_null(out);
		uint8_t buf[CAP];
		memcpy(buf + HEAD, t->msg, t->msg_len);
		ss_esp_pkt k = { .base = buf, .cap = CAP, .off = HEAD, .len = (uint32_t)t->msg_len };
		assert_int_equal(ss_esp_decap_batch(sad, &k, 1, 0), 1);
		size_t hl = t->mode == SS_ESP_TRANSPORT ? 20 : 0;
		assert_int_equal(k.len, t->pt_len + hl);
		assert_memory_equal(buf + k.off + hl, t->pt, t->pt_len);
		if (hl)
			assert_int_equal(buf[k.off + 9], SS_IPPROTO_ICMP);
		assert_int_equal(ss_esp_sa_seq(in), t->seq);

		/* The other way: our bytes must be the RFC's. */
		uint8_t inner[256];
		size_t n = 0;
		if (hl) {
			/* Transport: a header from the test host in front of the ICMP message. */
			n = tu_inner(inner, sizeof(inner), "192.168.123.100", "192.168.123.3", 0, 0, 0, 0) - 8;
			inner[9] = SS_IPPROTO_ICMP;
			inner[2] = (uint8_t)((t->pt_len + 20) >> 8), inner[3] = (uint8_t)(t->pt_len + 20);
			inner[10] = inner[11] = 0;
			uint16_t c = (uint16_t)~ss_csum_fold(ss_csum_add(0, inner, 20));
			inner[10] = (uint8_t)(c >> 8), inner[11] = (uint8_t)c;
		}
		memcpy(inner + n, t->pt, t->pt_len);
		n += t->pt_len;
		memcpy(buf + HEAD, inner, n);
		k = (ss_esp_pkt){ .base = buf, .cap = CAP, .off = HEAD, .len = (uint32_t)n };
		out->seq = t->seq - 1;
		ss_esp_sa_set_test_iv(out, t->msg + 8);
		assert_int_equal(ss_esp_encap_batch(out, &k, 1, 0), 1);
		assert_int_equal(k.len - k.outer_hdr_len, t->msg_len);
		assert_memory_equal(buf + k.off + k.outer_hdr_len, t->msg, t->msg_len);
		ss_esp_sad_free(sad);
	}
}

/* Packets that are not ESP are told apart from ESP by parse_outer. */
static void outer_parsing(void **state)
{
	uint8_t b[128] = { 0x45, 0, 0, 20 + 8 + 1, 0, 0, 0, 0, 64, SS_IPPROTO_UDP, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
			   0x11, 0x94, 0x11, 0x94, 0, 9, 0, 0, 0xff };
	ss_esp_pkt p = { .base = b, .cap = sizeof(b), .off = 0, .len = 29 };
	assert_int_equal(ss_esp_parse_outer(&p), SS_ESP_E_UNSUPPORTED); /* NAT keepalive */
	b[3] = 20 + 8 + 12, b[25] = 20, b[28] = 0;
	p = (ss_esp_pkt){ .base = b, .cap = sizeof(b), .off = 0, .len = 40 };
	assert_int_equal(ss_esp_parse_outer(&p), SS_ESP_E_UNSUPPORTED); /* non-ESP marker: IKE */
	b[31] = 1;
	p = (ss_esp_pkt){ .base = b, .cap = sizeof(b), .off = 0, .len = 40 };
	assert_int_equal(ss_esp_parse_outer(&p), SS_ESP_OK);
	assert_int_equal(p.off, 28);
	assert_int_equal(p.len, 12);
	assert_int_equal(p.sport, 4500);
	b[25] = 21; /* UDP length beyond the packet */
	p = (ss_esp_pkt){ .base = b, .cap = sizeof(b), .off = 0, .len = 40 };
	assert_int_equal(ss_esp_parse_outer(&p), SS_ESP_E_MALFORMED);
	b[9] = SS_IPPROTO_TCP;
	p = (ss_esp_pkt){ .base = b, .cap = sizeof(b), .off = 0, .len = 40 };
	assert_int_equal(ss_esp_parse_outer(&p), SS_ESP_E_UNSUPPORTED);
	b[9] = SS_IPPROTO_ESP, b[6] = 0x20; /* a fragment */
	p = (ss_esp_pkt){ .base = b, .cap = sizeof(b), .off = 0, .len = 40 };
	assert_int_equal(ss_esp_parse_outer(&p), SS_ESP_E_UNSUPPORTED);
	p = (ss_esp_pkt){ .base = b, .cap = sizeof(b), .off = 0, .len = 19 };
	assert_int_equal(ss_esp_parse_outer(&p), SS_ESP_E_MALFORMED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(roundtrip_all),
		cmocka_unit_test(batch),
		cmocka_unit_test(gso_layout),
		cmocka_unit_test(esp_only_transport),
		cmocka_unit_test(ecn),
		cmocka_unit_test(natt_transport_checksum),
		cmocka_unit_test(error_nosa_and_short),
		cmocka_unit_test(error_replay),
		cmocka_unit_test(error_auth),
		cmocka_unit_test(error_malformed),
		cmocka_unit_test(error_pad_dummy_nexthdr),
		cmocka_unit_test(error_selector),
		cmocka_unit_test(selector_fields),
		cmocka_unit_test(encap_refusals),
		cmocka_unit_test(lifetimes),
		cmocka_unit_test(events_drain),
		cmocka_unit_test(seq_exhaustion),
		cmocka_unit_test(esn_crossing),
		cmocka_unit_test(sad_management),
		cmocka_unit_test(tick_heap_vs_naive),
		cmocka_unit_test(rfc3602),
		cmocka_unit_test(outer_parsing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
