#include "ike/suite_name.h"

#include <stdio.h>
#include <string.h>

/* One token; returns false when it names nothing we know. */
static bool token(const char *t, uint16_t *encr, uint16_t *bits, uint16_t *integ, uint16_t *prf,
		  uint16_t *dh)
{
	size_t n;
	const ss_encr_desc *ed = ss_encr_all(&n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(t, ed[i].name) == 0) {
			*encr = ed[i].id;
			*bits = ed[i].key_bits;
			return true;
		}
	const ss_integ_desc *id = ss_integ_all(&n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(t, id[i].name) == 0) {
			*integ = id[i].id;
			return true;
		}
	const ss_prf_desc *pd = ss_prf_all(&n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(t, pd[i].name) == 0) {
			*prf = pd[i].id;
			return true;
		}
	const ss_dh_desc *dd = ss_dh_all(&n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(t, dd[i].name) == 0 || (dd[i].id == SS_DH_CURVE25519 && strcmp(t, "x25519") == 0)) {
			*dh = dd[i].id;
			return true;
		}
	return false;
}

static const char *parse(const char *s, uint16_t *encr, uint16_t *bits, uint16_t *integ,
			 uint16_t *prf, uint16_t *dh)
{
	char buf[128];
	if (strlen(s) >= sizeof(buf))
		return "proposal string too long";
	strcpy(buf, s);
	*encr = *bits = *prf = 0;
	*integ = SS_INTEG_NONE;
	*dh = SS_DH_NONE;
	char *save = NULL;
	for (char *t = strtok_r(buf, "-", &save); t; t = strtok_r(NULL, "-", &save))
		if (!token(t, encr, bits, integ, prf, dh))
			return "unknown algorithm name";
	return *encr ? NULL : "no encryption algorithm";
}

const char *ss_ike_suite_parse(const char *s, ss_ike_suite *out)
{
	uint16_t encr, bits, integ, prf, dh;
	const char *why = parse(s, &encr, &bits, &integ, &prf, &dh);
	if (why)
		return why;
	if (!prf) {
		/* strongSwan derives the PRF from the integrity algorithm when none is named. */
		prf = integ == SS_INTEG_HMAC_SHA2_384_192 ? SS_PRF_HMAC_SHA2_384 :
		      integ == SS_INTEG_HMAC_SHA2_512_256 ? SS_PRF_HMAC_SHA2_512 :
		      integ == SS_INTEG_HMAC_SHA2_256_128 ? SS_PRF_HMAC_SHA2_256 : 0;
	}
	*out = (ss_ike_suite){ encr, bits, integ, prf, dh };
	if (dh == SS_DH_NONE)
		return "IKE needs a Diffie-Hellman group";
	return ss_ike_suite_check(out);
}

const char *ss_esp_suite_parse(const char *s, ss_esp_suite *out)
{
	uint16_t encr, bits, integ, prf, dh;
	const char *why = parse(s, &encr, &bits, &integ, &prf, &dh);
	if (why)
		return why;
	if (prf)
		return "ESP has no PRF";
	*out = (ss_esp_suite){ encr, bits, integ, dh };
	return ss_esp_suite_check(out);
}

static const char *encr_swan(uint16_t id)
{
	return id == SS_ENCR_AES_GCM_16 ? "AES_GCM_16" : id == SS_ENCR_AES_CBC ? "AES_CBC" : "?";
}

static const char *integ_swan(uint16_t id)
{
	switch (id) {
	case SS_INTEG_HMAC_SHA2_256_128: return "HMAC_SHA2_256_128";
	case SS_INTEG_HMAC_SHA2_384_192: return "HMAC_SHA2_384_192";
	case SS_INTEG_HMAC_SHA2_512_256: return "HMAC_SHA2_512_256";
	}
	return NULL;
}

static const char *prf_swan(uint16_t id)
{
	switch (id) {
	case SS_PRF_HMAC_SHA2_256: return "PRF_HMAC_SHA2_256";
	case SS_PRF_HMAC_SHA2_384: return "PRF_HMAC_SHA2_384";
	case SS_PRF_HMAC_SHA2_512: return "PRF_HMAC_SHA2_512";
	}
	return "?";
}

static const char *dh_swan(uint16_t id)
{
	switch (id) {
	case SS_DH_MODP_2048: return "MODP_2048";
	case SS_DH_ECP_256: return "ECP_256";
	case SS_DH_ECP_384: return "ECP_384";
	case SS_DH_CURVE25519: return "CURVE_25519";
	}
	return "?";
}

void ss_ike_suite_swan(const ss_ike_suite *s, char *buf, size_t len)
{
	const char *i = integ_swan(s->integ);
	snprintf(buf, len, "%s-%u%s%s/%s/%s", encr_swan(s->encr), s->encr_bits, i ? "/" : "",
		 i ? i : "", prf_swan(s->prf), dh_swan(s->dh));
}

void ss_esp_suite_swan(const ss_esp_suite *s, char *buf, size_t len)
{
	const char *i = integ_swan(s->integ);
	bool pfs = s->dh != SS_DH_NONE;
	snprintf(buf, len, "%s-%u%s%s%s%s", encr_swan(s->encr), s->encr_bits, i ? "/" : "", i ? i : "",
		 pfs ? "/" : "", pfs ? dh_swan(s->dh) : "");
}
