/* libFuzzer target for ESP decapsulation (src/esp) with fixed SAs installed.
 *
 * The first input byte picks what the rest is:
 *   0  an ESP packet (from the SPI on), decapsulated as is
 *   1  an outer IPv4/IPv6 packet, through ss_esp_parse_outer then decap
 *   2  the plaintext of an ESP payload (inner packet, padding, trailer) that the fuzzer
 *      cannot forge an ICV for: it is sealed with the SA's own keys first, so the checks
 *      after authentication (padding, next header, inner packet, selectors, and the ECN
 *      of the outer header, bits 6-7 of the second byte, on the inner: RFC 6040) get fuzzed
 *   3  an inner packet to encapsulate, then decapsulate again: must come back the same
 *      (or be refused by the receiver's selectors, or be a next-header-59 dummy)
 * The second byte picks the SA.  A fresh SAD per input keeps runs reproducible. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "esp/sa.h"
#include "esp_testutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CAP 4096
#define HEAD 256

struct sa_def {
	size_t suite;
	int mode, fam;
	bool esn, udp, selectors;
};

static const struct sa_def defs[] = {
	{ 0, SS_ESP_TUNNEL, 4, false, false, true },
	{ 2, SS_ESP_TRANSPORT, 6, true, false, false },
	{ 1, SS_ESP_TUNNEL, 6, true, true, true },
	{ 4, SS_ESP_TRANSPORT, 4, false, true, false },
};
#define NDEFS (sizeof(defs) / sizeof(defs[0]))

static ss_esp_params params(const struct sa_def *d, int dir, uint32_t spi)
{
	ss_esp_params p = tu_params(&tu_suites[d->suite], dir, d->mode, d->fam, d->esn, d->udp, spi);
	if (d->selectors) {
		p.remote_ts[0] = (ss_esp_ts){ .lo = tu_addr(d->fam == 4 ? "10.1.0.0" : "fd00:1::"),
			.hi = tu_addr(d->fam == 4 ? "10.1.255.255" : "fd00:1::ffff"), .port_hi = 0xffff };
		p.remote_ts[1] = (ss_esp_ts){ .lo = tu_addr(d->fam == 4 ? "10.9.0.0" : "fd00:9::"),
			.hi = tu_addr(d->fam == 4 ? "10.9.0.255" : "fd00:9::ff"), .proto = SS_IPPROTO_UDP,
			.port_lo = 53, .port_hi = 53 };
		p.n_remote_ts = 2;
	}
	return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[CAP];
	if (size < 2 || size > CAP - HEAD - SS_ESP_TAILROOM)
		return 0;
	uint8_t op = data[0] & 3;
	const struct sa_def *d = &defs[data[1] % NDEFS];
	uint32_t spi = 0x1001 + (uint32_t)(data[1] % NDEFS);
	uint8_t outer_ecn = (uint8_t)(data[1] >> 6);
	data += 2, size -= 2;

	ss_esp_sad *sad = ss_esp_sad_new();
	ss_esp_params in = params(d, SS_ESP_IN, spi), out = params(d, SS_ESP_OUT, spi);
	/* Both ends of the same SA, so op 2 and 3 can seal what decap opens. */
	out.local = in.remote, out.remote = in.local;
	out.udp_local_port = in.udp_remote_port, out.udp_remote_port = in.udp_local_port;
	memcpy(out.local_ts, in.remote_ts, sizeof(out.local_ts));
	memcpy(out.remote_ts, in.local_ts, sizeof(out.remote_ts));
	out.n_local_ts = in.n_remote_ts, out.n_remote_ts = in.n_local_ts;
	ss_esp_sa *isa = ss_esp_sad_add(sad, &in, 0, NULL), *osa = ss_esp_sad_add(sad, &out, 0, NULL);
	if (!isa || !osa)
		abort();

	memset(buf, 0, sizeof(buf));
	ss_esp_pkt k = { .base = buf, .cap = CAP, .off = HEAD, .len = (uint32_t)size };
	uint8_t orig[CAP];
	memcpy(orig, data, size);
	if (op == 2) {
		/* SPI, seq 1, IV space, plaintext, ICV space; sealed in place. */
		ss_buf w = ss_buf_init(buf + HEAD, CAP - HEAD);
		ss_buf_be32(&w, spi);
		ss_buf_be32(&w, 1);
		ss_buf_zero(&w, osa->cr.iv_len);
		ss_buf_put(&w, data, size);
		ss_buf_zero(&w, osa->cr.icv_len);
		if (!ss_buf_ok(&w) || (!osa->cr.aead && size % 16) ||
		    !ss_esp_seal(&osa->cr, buf + HEAD, size, 1, d->esn))
			goto out;
		k.len = (uint32_t)w.len;
		k.src = in.remote, k.dst = in.local;
		k.outer_tos = outer_ecn;
	} else {
		memcpy(buf + HEAD, data, size);
	}
	if (op == 3) {
		if (ss_esp_encap_batch(osa, &k, 1, 0) != 1)
			goto out;
	}
	if ((op == 1 || op == 3) && ss_esp_parse_outer(&k) != SS_ESP_OK) {
		if (op == 3)
			abort(); /* our own output must parse */
		goto out;
	}
	ss_esp_decap_batch(sad, &k, 1, 0);
	if (k.result == SS_ESP_OK && (k.off < HEAD / 2 || k.off + k.len > CAP))
		abort();
	if (op == 3) {
		/* What went in comes out, except in transport mode where the header is rebuilt
		 * and in cases the receiver's selectors refuse. */
		if (k.result != SS_ESP_OK && k.result != SS_ESP_E_SELECTOR && k.result != SS_ESP_E_DUMMY)
			abort();
		if (k.result == SS_ESP_OK && d->mode == SS_ESP_TUNNEL &&
		    (k.len > size || memcmp(buf + k.off, orig, k.len) != 0))
			abort();
	}
out:
	ss_esp_sad_free(sad);
	return 0;
}
