/* libFuzzer target for the policy loader: any bytes as a policy file.  Names resolve
 * through a deterministic fake (no DNS), key files are not read (placeholder keys); a
 * policy that loads is compiled and classified once, so the model it produced is used. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "policy/classify.h"
#include "policy/load.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A name stands for 1-3 addresses derived from its bytes, of both families. */
static size_t fake_resolve(void *ctx, const char *name, ss_addr *out, size_t max, const char **why)
{
	(void)ctx;
	uint32_t h = 2166136261u;
	for (const char *c = name; *c; c++)
		h = (h ^ (uint8_t)*c) * 16777619u;
	if (h % 7 == 0) {
		*why = "no such name (fuzz resolver)";
		return 0;
	}
	size_t n = 1 + h % 3;
	if (n > max)
		n = max;
	for (size_t i = 0; i < n; i++) {
		if ((h >> i) & 1) {
			out[i] = ss_addr_v4(0xc0000200u | ((h + i) & 0xff)); /* 192.0.2.x */
		} else {
			uint8_t b[16] = { 0x20, 0x01, 0x0d, 0xb8 };
			b[15] = (uint8_t)(h + i);
			out[i] = ss_addr_v6(b);
		}
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ss_load_opts o = { .resolve = fake_resolve, .skip_key_files = true };
	ss_load_error err;
	ss_policy *p = ss_policy_load_mem("fuzz.yaml", (const char *)data, size, &o, &err);
	if (!p) {
		/* Every failure must say where and what. */
		if (!err.msg[0] || strncmp(err.text, "fuzz.yaml", 9) != 0)
			__builtin_trap();
		return 0;
	}
	for (size_t i = 0; i < p->n_rules; i++)
		for (size_t j = 0; j < p->rules[i].list->n_filters; j++)
			(void)ss_filter_weight(&p->rules[i].list->filters[j]);
	ss_classifier *c = ss_classifier_build(p);
	if (c) {
		ss_pkt_key k = { .dir = size & 1, .proto = 6, .sport = 1234, .dport = 80,
			.src = ss_addr_v4(0xc0000201u), .dst = ss_addr_v4(0xc0000202u) };
		ss_match m;
		(void)ss_classify(c, &k, &m);
		ss_classifier_free(c);
	}
	ss_policy_free(p);
	return 0;
}
