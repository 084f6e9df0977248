/* libFuzzer target: the IKEv2 message parser on arbitrary bytes, outer chain and, when an SK
 * payload is present, its body parsed as if it were the decrypted inner chain. */
#include <stddef.h>
#include <stdint.h>

#include "base/log.h"
#include "ike/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static ss_ike_codec_stats st;
	ss_log_set_level(SS_LOG_ERR);
	ss_ike_msg m;
	if (ss_ike_parse(data, size, &m, &st) == SS_CODEC_OK && ss_ike_has(&m, SS_PL_SK)) {
		ss_cur c = ss_cur_init(m.sk.body.p, m.sk.body.len);
		ss_ike_parse_payloads(&c, m.sk.first_inner, NULL, &m, &st);
	}
	return 0;
}
