/* ESP micro-benchmark: encap and decap packets/s and Gbit/s on one core, next to the raw EVP
 * cost of the same crypto on the same sizes measured in the same run (the floor: what the
 * cipher alone costs; the difference is ESP's own work).
 *
 *   esp_micro [seconds per cell, default 0.3] [suite name] [size] [encap|decap|evp]
 *   esp_micro --quick      (every cell for a moment: the unit suite runs it so it cannot rot)
 * The last three filter; with one operation only, the packet count goes to stderr so that
 * `perf stat -e instructions:u` can give instructions per packet, which load does not skew.
 *
 * The machine is shared and noisy: each cell alternates encap, decap and EVP in 5 short
 * rounds and keeps the best round of each, so that the three see the same conditions.
 *
 * Batches of 32 packets, as the dataplane will hand them over.  Encap includes copying the
 * inner packet into the buffer (the TUN read does that anyway); decap includes copying the
 * ESP packet in (it is decrypted in place) and a replay window reset every 256 packets. */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/cursor.h"
#include "esp/ip.h"
#include "esp/sa.h"
#include "esp/wire.h"

#define BATCH 32
#define POOL 256
#define CAP 2048
#define HEAD 128

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static const uint8_t key[36] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18,
	19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36 };
static const uint8_t ikey[32] = { 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9,
	8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8 };

struct suite {
	const char *name;
	uint16_t encr, klen, integ;
};

static const struct suite suites[] = {
	{ "AES-128-GCM", SS_ENCR_AES_GCM_16, 20, SS_INTEG_NONE },
	{ "AES-256-GCM", SS_ENCR_AES_GCM_16, 36, SS_INTEG_NONE },
	{ "AES-128-CBC+SHA256", SS_ENCR_AES_CBC, 16, SS_INTEG_HMAC_SHA2_256_128 },
};

static ss_esp_params params(const struct suite *s, int dir)
{
	ss_esp_params p;
	memset(&p, 0, sizeof(p));
	p.spi = 0x4242;
	p.dir = (uint8_t)dir;
	p.mode = SS_ESP_TUNNEL;
	p.encr = s->encr;
	p.integ = s->integ;
	p.encr_key = key;
	p.encr_key_len = s->klen;
	p.integ_key = ikey;
	p.integ_key_len = s->integ ? 32 : 0;
	p.esn = true;
	ss_addr_parse("192.0.2.1", dir == SS_ESP_OUT ? &p.local : &p.remote);
	ss_addr_parse("192.0.2.2", dir == SS_ESP_OUT ? &p.remote : &p.local);
	p.udp_local_port = p.udp_remote_port = 4500;
	return p;
}

/* An IPv4/UDP inner packet of exactly size bytes. */
static void inner(uint8_t *b, size_t size)
{
	memset(b, 0x5a, size);
	ss_buf w = ss_buf_init(b, 28);
	ss_buf_be32(&w, 0x45000000u | (uint32_t)size);
	ss_buf_be32(&w, 0);
	ss_buf_be32(&w, 0x40110000u);
	ss_buf_be32(&w, 0x0a010001);
	ss_buf_be32(&w, 0x0a020002);
	ss_buf_be32(&w, 1234u << 16 | 5678u);
	ss_buf_be32(&w, (uint32_t)(size - 20) << 16);
	ss_buf_set_be16(&w, 10, (uint16_t)~ss_csum_fold(ss_csum_add(0, b, 20)));
}

static uint8_t bufs[BATCH][CAP];
static uint8_t scratch[CAP];
static uint64_t total_packets;
static uint8_t pool[POOL][CAP];
static uint32_t pool_len[POOL];

static double bench_encap(ss_esp_sa *sa, size_t size, double secs)
{
	uint8_t in[CAP];
	inner(in, size);
	ss_esp_pkt v[BATCH];
	uint64_t n = 0;
	double t0 = now_s(), t;
	do {
		for (int r = 0; r < 64; r++) {
			for (int i = 0; i < BATCH; i++) {
				memcpy(bufs[i] + HEAD, in, size);
				v[i] = (ss_esp_pkt){ .base = bufs[i], .cap = CAP, .off = HEAD, .len = (uint32_t)size };
			}
			if (ss_esp_encap_batch(sa, v, BATCH, 0) != BATCH)
				abort();
			n += BATCH;
		}
		t = now_s() - t0;
	} while (t < secs);
	total_packets += n;
	return (double)n / t;
}

static double bench_decap(ss_esp_sad *sad, ss_esp_sa *in_sa, ss_esp_sa *out_sa, size_t size, double secs)
{
	uint8_t in[CAP];
	inner(in, size);
	for (int i = 0; i < POOL; i++) {
		ss_esp_pkt k = { .base = pool[i], .cap = CAP, .off = HEAD, .len = (uint32_t)size };
		memcpy(pool[i] + HEAD, in, size);
		if (ss_esp_encap_batch(out_sa, &k, 1, 0) != 1)
			abort();
		/* Keep only the ESP part: what a UDP socket hands over. */
		memmove(pool[i] + HEAD, pool[i] + k.off + k.outer_hdr_len, k.len - k.outer_hdr_len);
		pool_len[i] = k.len - k.outer_hdr_len;
	}
	ss_esp_pkt v[BATCH];
	uint64_t n = 0;
	double t0 = now_s(), t;
	do {
		ss_replay_init(&in_sa->replay, true);
		for (int p = 0; p < POOL; p += BATCH) {
			for (int i = 0; i < BATCH; i++) {
				memcpy(bufs[i] + HEAD, pool[p + i] + HEAD, pool_len[p + i]);
				v[i] = (ss_esp_pkt){ .base = bufs[i], .cap = CAP, .off = HEAD, .len = pool_len[p + i] };
			}
			if (ss_esp_decap_batch(sad, v, BATCH, 0) != BATCH)
				abort();
			n += BATCH;
		}
		t = now_s() - t0;
	} while (t < secs);
	total_packets += n;
	return (double)n / t;
}

/* The floor: the same cipher through EVP directly, in place on the same 32 buffers the
 * batches use (same cache footprint); enc selects encrypt (+ HMAC after) or HMAC + decrypt. */
static double bench_evp(const struct suite *s, size_t size, double secs, int enc)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	EVP_MAC_CTX *m = NULL;
	uint8_t iv[16] = { 0 }, aad[8] = { 0 }, tag[64] = { 0 };
	bool gcm = s->encr == SS_ENCR_AES_GCM_16;
	const EVP_CIPHER *ci = gcm ? (s->klen == 20 ? EVP_aes_128_gcm() : EVP_aes_256_gcm()) : EVP_aes_128_cbc();
	EVP_CipherInit_ex(c, ci, NULL, key, NULL, enc);
	if (!gcm) {
		EVP_CIPHER_CTX_set_padding(c, 0);
		EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
		m = EVP_MAC_CTX_new(mac);
		EVP_MAC_free(mac);
		OSSL_PARAM prm[] = { OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
				     OSSL_PARAM_construct_end() };
		EVP_MAC_init(m, ikey, 32, prm);
	}
	size_t len = gcm ? size : (size + 15) / 16 * 16;
	uint64_t n = 0;
	int ol;
	size_t ml;
	static uint8_t tags[BATCH][16];
	if (gcm && !enc) {
		/* Real ciphertexts and tags, so that every open verifies (a failed open may cut
		 * corners); decrypted out of place so they stay valid. */
		EVP_CIPHER_CTX *e = EVP_CIPHER_CTX_new();
		EVP_EncryptInit_ex(e, ci, NULL, key, iv);
		for (int i = 0; i < BATCH; i++) {
			EVP_EncryptInit_ex(e, NULL, NULL, NULL, iv);
			EVP_EncryptUpdate(e, NULL, &ol, aad, 8);
			EVP_EncryptUpdate(e, bufs[i] + HEAD, &ol, bufs[i] + HEAD, (int)len);
			EVP_EncryptFinal_ex(e, bufs[i] + HEAD + ol, &ol);
			EVP_CIPHER_CTX_ctrl(e, EVP_CTRL_GCM_GET_TAG, 16, tags[i]);
		}
		EVP_CIPHER_CTX_free(e);
	}
	double t0 = now_s(), t;
	do {
		for (int r = 0; r < 2048; r++) {
			uint8_t *b = bufs[r % BATCH] + HEAD;
			if (enc || !gcm)
				iv[11]++;
			if (!gcm && !enc) {
				EVP_MAC_init(m, NULL, 0, NULL);
				EVP_MAC_update(m, b, len + 24);
				EVP_MAC_final(m, tag, &ml, sizeof(tag));
			}
			EVP_CipherInit_ex(c, NULL, NULL, NULL, iv, -1);
			if (gcm)
				EVP_CipherUpdate(c, NULL, &ol, aad, 8);
			EVP_CipherUpdate(c, gcm && !enc ? scratch : b, &ol, b, (int)len);
			if (gcm && enc) {
				EVP_CipherFinal_ex(c, b + ol, &ol);
				EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag);
			} else if (gcm) {
				EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tags[r % BATCH]);
				if (EVP_CipherFinal_ex(c, scratch + ol, &ol) != 1)
					abort();
			} else if (enc) {
				EVP_MAC_init(m, NULL, 0, NULL);
				EVP_MAC_update(m, b, len + 24);
				EVP_MAC_final(m, tag, &ml, sizeof(tag));
			}
			n++;
		}
		t = now_s() - t0;
	} while (t < secs);
	EVP_CIPHER_CTX_free(c);
	EVP_MAC_CTX_free(m);
	total_packets += n;
	return (double)n / t;
}

static void cell(double pps, size_t size)
{
	printf(" %7.0f %6.2f |", pps / 1e3, pps * (double)size * 8 / 1e9);
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 0.3;
	if (argc > 1 && strcmp(argv[1], "--quick") == 0) {
		secs = 0.002;
		argc = 1;
	}
	static const size_t sizes[] = { 64, 512, 1400 };
	printf("ESP micro-benchmark, one core, tunnel mode + UDP encapsulation + ESN, batches of %d.\n"
	       "kpps and Gbit/s of inner packets; EVP seal/open = the cipher (and HMAC) alone, in place on\n"
	       "the same buffers: the floor.  The last columns are the fraction of the floor reached.\n\n",
	       BATCH);
	printf("%-19s %5s | %-14s | %-14s | %-14s | %-14s | encap  decap\n", "", "", "encap", "EVP seal",
	       "decap", "EVP open");
	printf("%-19s %5s | %-14s | %-14s | %-14s | %-14s | /seal  /open\n", "suite", "bytes",
	       "   kpps   Gb/s", "   kpps   Gb/s", "   kpps   Gb/s", "   kpps   Gb/s");
	for (size_t s = 0; s < sizeof(suites) / sizeof(suites[0]); s++) {
		for (size_t z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
			if ((argc > 2 && strcmp(argv[2], suites[s].name) != 0) ||
			    (argc > 3 && (size_t)atoi(argv[3]) != sizes[z]))
				continue;
			ss_esp_sad *sad = ss_esp_sad_new();
			ss_esp_params po = params(&suites[s], SS_ESP_OUT), pi = params(&suites[s], SS_ESP_IN);
			ss_esp_sa *out = ss_esp_sad_add(sad, &po, 0, NULL), *in = ss_esp_sad_add(sad, &pi, 0, NULL);
			if (!out || !in)
				return 1;
			double e = 0, d = 0, f = 0, g = 0;
			const char *op = argc > 4 ? argv[4] : "";
			for (int round = 0; round < 5; round++) {
				double x = !*op || !strcmp(op, "encap") ? bench_encap(out, sizes[z], secs / 5) : 0;
				double y = !*op || !strcmp(op, "decap") ? bench_decap(sad, in, out, sizes[z], secs / 5) : 0;
				double w = !*op || !strcmp(op, "evp") ? bench_evp(&suites[s], sizes[z], secs / 5, 1) : 1;
				double v = !*op || !strcmp(op, "evp") ? bench_evp(&suites[s], sizes[z], secs / 5, 0) : 1;
				e = x > e ? x : e;
				d = y > d ? y : d;
				f = w > f ? w : f;
				g = v > g ? v : g;
			}
			printf("%-19s %5zu |", suites[s].name, sizes[z]);
			cell(e, sizes[z]);
			cell(f, sizes[z]);
			cell(d, sizes[z]);
			cell(g, sizes[z]);
			printf(" %6.2f %6.2f\n", e / f, d / g);
			ss_esp_sad_free(sad);
		}
	}
	if (argc > 4)
		fprintf(stderr, "packets %llu\n", (unsigned long long)total_packets);
	return 0;
}
