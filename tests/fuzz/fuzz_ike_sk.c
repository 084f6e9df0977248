/* libFuzzer target: the responder's handlers behind the SK payload (IKE_AUTH, CREATE_CHILD_SA,
 * INFORMATIONAL), built against a variant of the IKE library compiled with SS_IKE_FUZZING,
 * where an SK body is taken as plaintext and any PSK AUTH passes.
 *
 * Each input: a fresh responder gets a real IKE_SA_INIT (so it holds a half-open SA whose
 * SPIs we learn); when the first byte is odd, also a plaintext IKE_AUTH that establishes it.
 * The rest of the input is then delivered as a message with its SPIs patched to that SA's. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "ike/ike.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static ss_ike_config cfg;
static const ss_ike_endpoint A = { { SS_AF_INET, { 10, 0, 0, 1 } }, 500 };
static const ss_ike_endpoint B = { { SS_AF_INET, { 10, 0, 0, 2 } }, 500 };

static const ss_ike_config *lookup(void *ctx, const ss_ike_endpoint *l, const ss_ike_endpoint *r,
				   const ss_ike_id *idi)
{
	return &cfg;
}

static void setup(void)
{
	ss_ike_config_init(&cfg);
	cfg.ike[0] = (ss_ike_suite){ SS_ENCR_AES_GCM_16, 128, SS_INTEG_NONE, SS_PRF_HMAC_SHA2_256, SS_DH_CURVE25519 };
	cfg.n_ike = 1;
	cfg.esp[0] = (ss_esp_suite){ SS_ENCR_AES_GCM_16, 128, SS_INTEG_NONE, SS_DH_CURVE25519 };
	cfg.esp[1] = (ss_esp_suite){ SS_ENCR_AES_CBC, 256, SS_INTEG_HMAC_SHA2_256_128, SS_DH_NONE };
	cfg.n_esp = 2;
	cfg.mode = SS_MODE_TUNNEL;
	cfg.local_id = ss_ike_id_fqdn("fuzz");
	cfg.psk_len = 4;
	memcpy(cfg.psk, "fuzz", 4);
}

/* Drains the responder; returns SPIr from the last IKE_SA_INIT response seen. */
static uint64_t drain(ss_ike_engine *e)
{
	ss_ike_action a;
	uint64_t spi_r = 0;
	while (ss_ike_next_action(e, &a)) {
		ss_ike_msg m;
		if (a.kind == SS_IKE_ACT_SEND && ss_ike_parse(a.data, a.len, &m, NULL) == SS_CODEC_OK &&
		    m.hdr.exchange == SS_IKE_SA_INIT)
			spi_r = m.hdr.spi_r;
	}
	return spi_r;
}

static uint64_t sa_init(ss_ike_engine *e, uint64_t spi_i)
{
	static uint8_t ke[32];
	static bool have_ke;
	if (!have_ke) {
		ss_dh *dh = ss_dh_new(SS_DH_CURVE25519);
		have_ke = dh && ss_dh_public(dh, ke, sizeof(ke));
		ss_dh_free(dh);
	}
	uint8_t buf[512], nonce[32] = { 7 };
	ss_ike_writer w;
	ss_ike_hdr h = { .spi_i = spi_i, .exchange = SS_IKE_SA_INIT, .flags = SS_IKE_FLAG_INITIATOR };
	ss_ikew_init(&w, buf, sizeof(buf), &h);
	ss_ike_sa_pl sa = { .n = 1 };
	sa.prop[0] = (ss_ike_proposal){ .num = 1, .proto = SS_PROTO_IKE, .n_transforms = 3, .tr = {
		{ SS_TR_ENCR, SS_ENCR_AES_GCM_16, 128, false }, { SS_TR_PRF, SS_PRF_HMAC_SHA2_256, 0, false },
		{ SS_TR_DH, SS_DH_CURVE25519, 0, false } } };
	ss_ikew_sa(&w, &sa);
	ss_ikew_ke(&w, SS_DH_CURVE25519, ke, sizeof(ke));
	ss_ikew_nonce(&w, nonce, sizeof(nonce));
	size_t n = ss_ikew_finish(&w);
	ss_ike_input(e, buf, n, &B, &A, 1000);
	return drain(e);
}

/* A message whose SK body is a plaintext chain (what the fuzzing build expects). */
static void plain_sk(ss_ike_engine *e, uint64_t spi_i, uint64_t spi_r, uint8_t exch, uint32_t id,
		     const ss_ike_writer *inner)
{
	uint8_t buf[1024];
	ss_ike_writer w;
	ss_ike_hdr h = { .spi_i = spi_i, .spi_r = spi_r, .exchange = exch,
			 .flags = SS_IKE_FLAG_INITIATOR, .msg_id = id };
	ss_ikew_init(&w, buf, sizeof(buf), &h);
	ss_ikew_raw(&w, SS_PL_SK, false, inner->b.p, inner->b.len);
	buf[SS_IKE_HDR_LEN] = inner->first;
	size_t n = ss_ikew_finish(&w);
	ss_ike_input(e, buf, n, &B, &A, 1000);
	drain(e);
}

static void establish(ss_ike_engine *e, uint64_t spi_i, uint64_t spi_r)
{
	uint8_t in[512], auth[32] = { 1 };
	ss_ike_writer w;
	ss_ikew_init_inner(&w, in, sizeof(in));
	ss_ikew_id(&w, SS_PL_IDI, SS_ID_FQDN, (const uint8_t *)"peer", 4);
	ss_ikew_auth(&w, SS_AUTH_PSK, auth, sizeof(auth));
	ss_ike_sa_pl sa = { .n = 1 };
	sa.prop[0] = (ss_ike_proposal){ .num = 1, .proto = SS_PROTO_ESP, .spi_size = 4,
		.spi = { 1, 2, 3, 4 }, .n_transforms = 1, .tr = {
		{ SS_TR_ENCR, SS_ENCR_AES_GCM_16, 128, false } } };
	ss_ikew_sa(&w, &sa);
	ss_ike_ts_pl ts = { .n = 1 };
	ts.ts[0] = (ss_ike_ts){ .type = SS_TS_IPV4_ADDR_RANGE, .port_end = 65535, .start = A.addr,
				.end = B.addr };
	ss_ikew_ts(&w, SS_PL_TSI, &ts);
	ss_ikew_ts(&w, SS_PL_TSR, &ts);
	ss_ikew_finish(&w);
	plain_sk(e, spi_i, spi_r, SS_IKE_AUTH, 1, &w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	if (!ready) {
		/* SS_FUZZ_DEBUG=1 shows what each input reached, for triage. */
		ss_log_set_level(getenv("SS_FUZZ_DEBUG") ? SS_LOG_DEBUG : SS_LOG_ERR);
		setup();
		ready = true;
	}
	if (size < 1)
		return 0;
	ss_ike_engine_params p;
	ss_ike_engine_params_default(&p);
	p.lookup = lookup;
	ss_ike_engine *e = ss_ike_engine_new(&p);
	if (!e)
		return 0;
	uint64_t spi_i = 0x0102030405060708ull;
	uint64_t spi_r = sa_init(e, spi_i);
	if (spi_r && (data[0] & 1))
		establish(e, spi_i, spi_r);
	if (spi_r && size > 1) {
		/* The SPIs are the one thing the fuzzer cannot guess: patch them in. */
		uint8_t msg[4096];
		size_t n = size - 1 < sizeof(msg) ? size - 1 : sizeof(msg);
		memcpy(msg, data + 1, n);
		for (int i = 0; i < 8 && n >= 16; i++) {
			msg[i] = (uint8_t)(spi_i >> (56 - 8 * i));
			msg[8 + i] = (uint8_t)(spi_r >> (56 - 8 * i));
		}
		ss_ike_input(e, msg, n, &B, &A, 2000);
		drain(e);
		ss_ike_timer(e, 2000 + 3600 * 1000);
		drain(e);
	}
	ss_ike_engine_free(e);
	return 0;
}
