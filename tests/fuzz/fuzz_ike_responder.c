/* libFuzzer target: the responder's input path.  Every input is a datagram to an engine that
 * accepts any peer (so IKE_SA_INIT requests create half-open SAs and get answered), on 500
 * or, when it starts with a zero word, on 4500 (non-ESP marker path).  The engine persists across
 * inputs so that later ones can hit SAs made by earlier ones (retransmission cache, IKE_AUTH
 * on an unknown or half-open SA); it is recycled every 256 inputs to bound memory. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/log.h"
#include "ike/ike.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static ss_ike_config cfg;

static const ss_ike_config *lookup(void *ctx, const ss_ike_endpoint *l, const ss_ike_endpoint *r,
				   const ss_ike_id *idi)
{
	return &cfg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static ss_ike_engine *e;
	static unsigned n;
	ss_log_set_level(SS_LOG_ERR);
	if (!e || ++n % 256 == 0) {
		ss_ike_engine_free(e);
		ss_ike_config_init(&cfg);
		cfg.ike[0] = (ss_ike_suite){ SS_ENCR_AES_GCM_16, 128, SS_INTEG_NONE, SS_PRF_HMAC_SHA2_256, SS_DH_ECP_256 };
		cfg.ike[1] = (ss_ike_suite){ SS_ENCR_AES_CBC, 256, SS_INTEG_HMAC_SHA2_256_128, SS_PRF_HMAC_SHA2_256, SS_DH_CURVE25519 };
		cfg.n_ike = 2;
		cfg.esp[0] = (ss_esp_suite){ SS_ENCR_AES_GCM_16, 128, SS_INTEG_NONE, SS_DH_NONE };
		cfg.n_esp = 1;
		cfg.local_id = ss_ike_id_fqdn("fuzz");
		cfg.psk_len = 4;
		memcpy(cfg.psk, "fuzz", 4);
		ss_ike_engine_params p;
		ss_ike_engine_params_default(&p);
		p.lookup = lookup;
		p.max_half_open = 64;
		p.cookie_threshold = 32;
		e = ss_ike_engine_new(&p);
		if (!e)
			return 0;
	}
	ss_ike_endpoint local = { ss_addr_v4(0x0a000002), SS_IKE_PORT };
	ss_ike_endpoint remote = { ss_addr_v4(0x0a000001), SS_IKE_PORT };
	if (size > 4 && !data[0] && !data[1] && !data[2] && !data[3])
		local.port = remote.port = SS_IKE_NATT_PORT;
	ss_ike_input(e, data, size, &local, &remote, 1000 + n);
	ss_ike_icmp(e, data, size, 1000 + n);
	ss_ike_timer(e, 1000 + n);
	ss_ike_action a;
	while (ss_ike_next_action(e, &a))
		;
	return 0;
}
