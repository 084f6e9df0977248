/* Helpers shared by the ESP tests, the scapy cross-check helper and the fuzz target:
 * building inner packets and SA parameters with fixed keys. */
#ifndef SS_TESTS_ESP_TESTUTIL_H
#define SS_TESTS_ESP_TESTUTIL_H

#include <stdint.h>
#include <string.h>

#include "base/cursor.h"
#include "esp/esp.h"
#include "esp/ip.h"
#include "esp/wire.h"

static const uint8_t tu_key[36] = {
	0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c,
	0x60, 0x3d, 0xeb, 0x10, 0x15, 0xca, 0x71, 0xbe, 0x2b, 0x73, 0xae, 0xf0, 0x85, 0x7d, 0x77, 0x81,
	0xca, 0xfe, 0xba, 0xbe,
};
static const uint8_t tu_ikey[64] = {
	0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
	0x4a, 0x65, 0x66, 0x65, 0x4a, 0x65, 0x66, 0x65, 0x4a, 0x65, 0x66, 0x65, 0x4a, 0x65, 0x66, 0x65,
	0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10,
};

/* A suite: encryption, key bits, integrity. */
typedef struct tu_suite {
	const char *name;
	uint16_t encr, bits, integ;
} tu_suite;

static const tu_suite tu_suites[] = {
	{ "aes128gcm16", SS_ENCR_AES_GCM_16, 128, SS_INTEG_NONE },
	{ "aes256gcm16", SS_ENCR_AES_GCM_16, 256, SS_INTEG_NONE },
	{ "aes128-sha256", SS_ENCR_AES_CBC, 128, SS_INTEG_HMAC_SHA2_256_128 },
	{ "aes256-sha384", SS_ENCR_AES_CBC, 256, SS_INTEG_HMAC_SHA2_384_192 },
	{ "aes256-sha512", SS_ENCR_AES_CBC, 256, SS_INTEG_HMAC_SHA2_512_256 },
};
#define TU_NSUITES (sizeof(tu_suites) / sizeof(tu_suites[0]))

static inline ss_addr tu_addr(const char *s)
{
	ss_addr a;
	memset(&a, 0, sizeof(a));
	ss_addr_parse(s, &a);
	return a;
}

/* Parameters for one side; local/remote as seen from the outbound side when dir is OUT. */
static inline ss_esp_params tu_params(const tu_suite *s, int dir, int mode, int family, bool esn,
				      bool udp, uint32_t spi)
{
	ss_esp_params p;
	memset(&p, 0, sizeof(p));
	p.spi = spi;
	p.dir = (uint8_t)dir;
	p.mode = (uint8_t)mode;
	p.encr = s->encr;
	p.integ = s->integ;
	p.encr_key = tu_key;
	/* GCM: the 4 bytes after the key are the salt (for 256 bits, the last 4 of tu_key). */
	p.encr_key_len = s->bits / 8 + (s->encr == SS_ENCR_AES_GCM_16 ? 4 : 0);
	p.integ_key = tu_ikey;
	p.integ_key_len = s->integ == SS_INTEG_HMAC_SHA2_256_128 ? 32 :
			  s->integ == SS_INTEG_HMAC_SHA2_384_192 ? 48 :
			  s->integ == SS_INTEG_HMAC_SHA2_512_256 ? 64 : 0;
	p.esn = esn;
	ss_addr a = tu_addr(family == 4 ? "192.0.2.1" : "2001:db8::1");
	ss_addr b = tu_addr(family == 4 ? "192.0.2.2" : "2001:db8::2");
	p.local = dir == SS_ESP_OUT ? a : b;
	p.remote = dir == SS_ESP_OUT ? b : a;
	if (udp) {
		p.udp_local_port = dir == SS_ESP_OUT ? 4500 : 4501;
		p.udp_remote_port = dir == SS_ESP_OUT ? 4501 : 4500;
	}
	return p;
}

/* Builds an inner IPv4/IPv6 UDP packet (TTL 64, no options) at buf; returns its length. */
static inline size_t tu_inner(uint8_t *buf, size_t cap, const char *src, const char *dst,
			      uint16_t sport, uint16_t dport, size_t payload, uint8_t fill)
{
	ss_addr s = tu_addr(src), d = tu_addr(dst);
	ss_buf w = ss_buf_init(buf, cap);
	size_t ulen = SS_UDP_HDR_LEN + payload;
	if (s.family == SS_AF_INET) {
		size_t hs = ss_buf_reserve(&w, 0);
		ss_buf_be32(&w, 0x45000000u | (uint32_t)(ulen + 20));
		ss_buf_be32(&w, 0);
		ss_buf_u8(&w, 64);
		ss_buf_u8(&w, SS_IPPROTO_UDP);
		ss_buf_be16(&w, 0);
		ss_buf_put(&w, s.a, 4);
		ss_buf_put(&w, d.a, 4);
		if (ss_buf_ok(&w))
			ss_buf_set_be16(&w, hs + 10, (uint16_t)~ss_csum_fold(ss_csum_add(0, buf + hs, 20)));
	} else {
		ss_buf_be32(&w, 6u << 28);
		ss_buf_be16(&w, (uint16_t)ulen);
		ss_buf_u8(&w, SS_IPPROTO_UDP);
		ss_buf_u8(&w, 64);
		ss_buf_put(&w, s.a, 16);
		ss_buf_put(&w, d.a, 16);
	}
	size_t u = w.len;
	ss_buf_be16(&w, sport);
	ss_buf_be16(&w, dport);
	ss_buf_be16(&w, (uint16_t)ulen);
	ss_buf_be16(&w, 0);
	for (size_t i = 0; i < payload; i++)
		ss_buf_u8(&w, (uint8_t)(fill + i));
	if (!ss_buf_ok(&w))
		return 0;
	/* The UDP checksum, summed here 16 bits at a time (independent of ss_csum_add). */
	size_t alen = s.family == SS_AF_INET ? 4 : 16;
	uint32_t sum = SS_IPPROTO_UDP + (uint32_t)ulen;
	for (size_t i = 0; i < alen; i += 2)
		sum += (uint32_t)(s.a[i] << 8 | s.a[i + 1]) + (uint32_t)(d.a[i] << 8 | d.a[i + 1]);
	for (size_t i = 0; i < ulen; i += 2)
		sum += (uint32_t)(buf[u + i] << 8 | (i + 1 < ulen ? buf[u + i + 1] : 0));
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	uint16_t c = (uint16_t)~sum;
	ss_buf_set_be16(&w, u + 6, c ? c : 0xffff);
	return w.len;
}

#endif
