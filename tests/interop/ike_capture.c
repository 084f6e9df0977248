/* Runs IKE between two in-process engines (IKE_SA_INIT, IKE_AUTH, CREATE_CHILD_SA, liveness,
 * DELETE) and writes what went on the wire as a pcap (raw IPv4/UDP 500), plus the line of
 * Wireshark's ikev2_decryption_table that lets tshark decrypt the SK payloads with the keys
 * we derived.  usage: ike_capture IKE-PROPOSAL ESP-PROPOSAL out.pcap out.uat */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "ike/ike.h"
#include "ike/suite_name.h"

static ss_ike_config cfg_a, cfg_b;
static FILE *pcap;
static uint32_t pkt_time;

static const ss_ike_config *lookup(void *ctx, const ss_ike_endpoint *l, const ss_ike_endpoint *r,
				   const ss_ike_id *idi)
{
	return &cfg_b;
}

static void le32(uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	fwrite(b, 1, 4, pcap);
}

static void pcap_header(void)
{
	le32(0xa1b2c3d4);
	uint8_t ver[4] = { 2, 0, 4, 0 };
	fwrite(ver, 1, 4, pcap);
	le32(0);
	le32(0);
	le32(65535);
	le32(101);  /* LINKTYPE_RAW: packets start with the IP header */
}

static void pcap_packet(const ss_ike_action *a)
{
	size_t udp_len = 8 + a->len, ip_len = 20 + udp_len;
	uint8_t h[28] = { 0x45, 0, (uint8_t)(ip_len >> 8), (uint8_t)ip_len, 0, 0, 0x40, 0, 64, 17 };
	memcpy(h + 12, a->local.addr.a, 4);
	memcpy(h + 16, a->remote.addr.a, 4);
	uint32_t sum = 0;
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)(h[i] << 8 | h[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	h[10] = (uint8_t)(~sum >> 8);
	h[11] = (uint8_t)~sum;
	h[20] = (uint8_t)(a->local.port >> 8);
	h[21] = (uint8_t)a->local.port;
	h[22] = (uint8_t)(a->remote.port >> 8);
	h[23] = (uint8_t)a->remote.port;
	h[24] = (uint8_t)(udp_len >> 8);
	h[25] = (uint8_t)udp_len;
	le32(++pkt_time);
	le32(0);
	le32((uint32_t)ip_len);
	le32((uint32_t)ip_len);
	fwrite(h, 1, sizeof(h), pcap);
	fwrite(a->data, 1, a->len, pcap);
}

static void pump(ss_ike_engine *a, ss_ike_engine *b)
{
	static uint8_t buf[4096];
	bool busy = true;
	while (busy) {
		busy = false;
		ss_ike_engine *eng[2] = { a, b };
		for (int i = 0; i < 2; i++) {
			ss_ike_action act;
			ss_ike_endpoint l, r;
			size_t len = 0;
			while (ss_ike_next_action(eng[i], &act)) {
				if (act.kind != SS_IKE_ACT_SEND || act.len > sizeof(buf))
					continue;
				pcap_packet(&act);
				memcpy(buf, act.data, act.len);
				len = act.len;
				l = act.remote;
				r = act.local;
			}
			if (len) {
				ss_ike_input(eng[!i], buf, len, &l, &r, 1000);
				busy = true;
			}
		}
	}
}

static void hex(FILE *f, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
}

static const char *ws_encr(const ss_ike_suite *s)
{
	if (s->encr == SS_ENCR_AES_GCM_16)
		return s->encr_bits == 128 ? "AES-GCM-128 with 16 octet ICV [RFC5282]"
					   : "AES-GCM-256 with 16 octet ICV [RFC5282]";
	return s->encr_bits == 128 ? "AES-CBC-128 [RFC3602]" : "AES-CBC-256 [RFC3602]";
}

static const char *ws_integ(const ss_ike_suite *s)
{
	switch (s->integ) {
	case SS_INTEG_HMAC_SHA2_256_128: return "HMAC_SHA2_256_128 [RFC4868]";
	case SS_INTEG_HMAC_SHA2_384_192: return "HMAC_SHA2_384_192 [RFC4868]";
	case SS_INTEG_HMAC_SHA2_512_256: return "HMAC_SHA2_512_256 [RFC4868]";
	}
	return "NONE [RFC4306]";
}

static void setup(ss_ike_config *c, const char *ike, const char *esp, const char *id)
{
	ss_ike_config_init(c);
	const char *why = ss_ike_suite_parse(ike, &c->ike[0]);
	if (!why)
		why = ss_esp_suite_parse(esp, &c->esp[0]);
	if (why) {
		fprintf(stderr, "ike_capture: %s\n", why);
		exit(2);
	}
	c->n_ike = c->n_esp = 1;
	c->local_id = ss_ike_id_fqdn(id);
	c->psk_len = 12;
	memcpy(c->psk, "capture-psk!", 12);
}

/* Certificate authentication instead of the PSK: CA, certificate and key files. */
static void use_cert(ss_ike_config *c, const char *ca, const char *cert, const char *key)
{
	static uint8_t pem[16384];
	FILE *f = fopen(key, "r");
	size_t n = f ? fread(pem, 1, sizeof(pem), f) : 0;
	if (f)
		fclose(f);
	char err[300];
	ss_cred_files cf = { .ca = ca, .cert = cert, .key_pem = pem, .key_len = n };
	c->cred = ss_ike_cred_load(&cf, err, sizeof(err));
	if (!c->cred) {
		fprintf(stderr, "ike_capture: %s: %s\n", cert, err);
		exit(2);
	}
	c->auth[0] = SS_IKE_AUTH_CERT;
	c->n_auth = 1;
}

int main(int argc, char **argv)
{
	if (argc != 5 && argc != 10) {
		fprintf(stderr, "usage: ike_capture IKE ESP out.pcap out.uat [CA CERT_A KEY_A CERT_B KEY_B]\n");
		return 2;
	}
	ss_log_set_level(SS_LOG_ERR);
	setup(&cfg_a, argv[1], argv[2], "a.capture.test");
	setup(&cfg_b, argv[1], argv[2], "b.capture.test");
	if (argc == 10) {
		use_cert(&cfg_a, argv[5], argv[6], argv[7]);
		use_cert(&cfg_b, argv[5], argv[8], argv[9]);
	}
	pcap = fopen(argv[3], "wb");
	FILE *uat = fopen(argv[4], "w");
	if (!pcap || !uat)
		return 2;
	pcap_header();
	ss_ike_engine_params p;
	ss_ike_engine_params_default(&p);
	p.lookup = lookup;
	ss_ike_engine *a = ss_ike_engine_new(&p), *b = ss_ike_engine_new(&p);
	ss_ike_endpoint ea = { ss_addr_v4(0x0a4e0001), 500 }, eb = { ss_addr_v4(0x0a4e0002), 500 };
	uint32_t h = ss_ike_initiate(a, &ea, &eb, &cfg_a, 1000);
	pump(a, b);
	ss_ike_sa_info info;
	if (!h || !ss_ike_sa_get(a, h, &info) || !info.established) {
		fprintf(stderr, "ike_capture: handshake failed\n");
		return 1;
	}
	/* One line of the table: SPIs, SK_ei, SK_er, cipher, SK_ai, SK_ar, integrity. */
	const ss_ike_keys *k = info.keys;
	fprintf(uat, "%016" PRIx64 ",%016" PRIx64 ",", info.spi_i, info.spi_r);
	hex(uat, k->i2r.encr, k->i2r.encr_len);
	fputc(',', uat);
	hex(uat, k->r2i.encr, k->r2i.encr_len);
	fprintf(uat, ",\"%s\",", ws_encr(&info.suite));
	hex(uat, k->i2r.integ, k->i2r.integ_len);
	fputc(',', uat);
	hex(uat, k->r2i.integ, k->r2i.integ_len);
	fprintf(uat, ",\"%s\"\n", ws_integ(&info.suite));
	ss_ike_create_child(a, h, 1000);
	pump(a, b);
	ss_ike_dpd(a, h, 1000);
	pump(a, b);
	ss_ike_delete(a, h, 1000);
	pump(a, b);
	ss_ike_engine_free(a);
	ss_ike_engine_free(b);
	ss_ike_cred_unref(cfg_a.cred);
	ss_ike_cred_unref(cfg_b.cred);
	fclose(pcap);
	fclose(uat);
	return 0;
}
