/* A thin command-line face on the ESP library for the scapy cross-check (xcheck_scapy.py):
 *   esp_xcheck keys SUITE
 *       prints the encryption key (with GCM salt) and integrity key, hex
 *   esp_xcheck encap|decap SUITE transport|tunnel 4|6 ESN(0|1) UDP(0|1) FIRST_SEQ
 *       reads one packet per line (hex: an inner IP packet to encap, or an outer IP packet
 *       to decap) and prints the result as hex, or "ERR <reason>".
 * SPI 0x1001, from 192.0.2.1 / 2001:db8::1 to 192.0.2.2 / 2001:db8::2, UDP 4500 -> 4500. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esp/sa.h"
#include "esp_testutil.h"

static void hex_out(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
	printf("\n");
}

static size_t hex_in(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	unsigned v;
	while (s[0] && s[1] && s[0] != '\n' && n < cap && sscanf(s, "%2x", &v) == 1) {
		out[n++] = (uint8_t)v;
		s += 2;
	}
	return n;
}

static const tu_suite *suite(const char *name)
{
	for (size_t i = 0; i < TU_NSUITES; i++)
		if (strcmp(tu_suites[i].name, name) == 0)
			return &tu_suites[i];
	fprintf(stderr, "esp_xcheck: unknown suite %s\n", name);
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "keys") == 0) {
		ss_esp_params p = tu_params(suite(argv[2]), SS_ESP_OUT, 0, 4, false, false, 0x1001);
		for (size_t i = 0; i < p.encr_key_len; i++)
			printf("%02x", p.encr_key[i]);
		printf(" ");
		for (size_t i = 0; i < p.integ_key_len; i++)
			printf("%02x", p.integ_key[i]);
		printf("\n");
		return 0;
	}
	if (argc != 8) {
		fprintf(stderr, "usage: esp_xcheck keys SUITE | encap|decap SUITE MODE FAM ESN UDP SEQ\n");
		return 2;
	}
	bool enc = strcmp(argv[1], "encap") == 0;
	int mode = strcmp(argv[3], "tunnel") == 0 ? SS_ESP_TUNNEL : SS_ESP_TRANSPORT;
	int fam = atoi(argv[4]);
	bool esn = atoi(argv[5]), udp = atoi(argv[6]);
	uint64_t first = strtoull(argv[7], NULL, 0);
	ss_esp_params p = tu_params(suite(argv[2]), enc ? SS_ESP_OUT : SS_ESP_IN, mode, fam, esn, udp, 0x1001);
	if (udp)
		p.udp_local_port = p.udp_remote_port = SS_UDP_ENCAP_PORT;
	ss_esp_sad *sad = ss_esp_sad_new();
	const char *why = NULL;
	ss_esp_sa *sa = ss_esp_sad_add(sad, &p, 0, &why);
	if (!sa) {
		fprintf(stderr, "esp_xcheck: %s\n", why);
		return 2;
	}
	/* White-box: start the sequence space where the test wants (e.g. across 2^32). */
	if (first > 1) {
		if (enc)
			sa->seq = first - 1;
		else
			sa->replay.top = first - 1;
	}
	static char line[16384];
	static uint8_t buf[8192];
	while (fgets(line, sizeof(line), stdin)) {
		size_t n = hex_in(line, buf + 256, sizeof(buf) - 512);
		ss_esp_pkt k = { .base = buf, .cap = sizeof(buf), .off = 256, .len = (uint32_t)n };
		int r;
		if (enc) {
			ss_esp_encap_batch(sa, &k, 1, 0);
			r = k.result;
		} else if ((r = ss_esp_parse_outer(&k)) == SS_ESP_OK) {
			ss_esp_decap_batch(sad, &k, 1, 0);
			r = k.result;
		}
		if (r == SS_ESP_OK)
			hex_out(buf + k.off, k.len);
		else
			printf("ERR %s\n", ss_esp_result_name(r));
		fflush(stdout);
	}
	ss_esp_sad_free(sad);
	return 0;
}
