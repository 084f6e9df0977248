/* Proposals (§3.3): ours are a list of complete suites, one proposal each; the responder
 * picks the first of the peer's proposals (peer's order, §2.7) that contains one of our
 * suites, and answers with exactly that suite. */
#include <string.h>

#include "ike/ike_internal.h"

static void add_tr(ss_ike_proposal *p, uint8_t type, uint16_t id, uint16_t bits)
{
	if (p->n_transforms < SS_IKE_MAX_TRANSFORMS)
		p->tr[p->n_transforms++] = (ss_ike_transform){ .type = type, .id = id, .key_len = bits };
}

static uint16_t wire_bits(uint16_t encr, uint16_t bits)
{
	/* Both AES modes carry the Key Length attribute (RFC 3602, RFC 5282 §8). */
	(void)encr;
	return bits;
}

static void ike_prop(ss_ike_proposal *p, const ss_ike_suite *s)
{
	add_tr(p, SS_TR_ENCR, s->encr, wire_bits(s->encr, s->encr_bits));
	add_tr(p, SS_TR_PRF, s->prf, 0);
	if (s->integ != SS_INTEG_NONE)
		add_tr(p, SS_TR_INTEG, s->integ, 0);
	add_tr(p, SS_TR_DH, s->dh, 0);
}

void prop_build_ike(ss_ike_sa_pl *sa, const ss_ike_suite *s, size_t n, const uint8_t *spi,
		    uint8_t spi_size)
{
	memset(sa, 0, sizeof(*sa));
	for (size_t i = 0; i < n && i < SS_IKE_MAX_PROPOSALS; i++) {
		ss_ike_proposal *p = &sa->prop[sa->n++];
		p->num = (uint8_t)(i + 1);
		p->proto = SS_PROTO_IKE;
		p->spi_size = spi_size;
		if (spi_size)
			memcpy(p->spi, spi, spi_size);
		ike_prop(p, &s[i]);
	}
}

static void esp_prop(ss_ike_proposal *p, const ss_esp_suite *s, uint32_t spi, bool with_dh)
{
	p->proto = SS_PROTO_ESP;
	p->spi_size = 4;
	p->spi[0] = (uint8_t)(spi >> 24);
	p->spi[1] = (uint8_t)(spi >> 16);
	p->spi[2] = (uint8_t)(spi >> 8);
	p->spi[3] = (uint8_t)spi;
	add_tr(p, SS_TR_ENCR, s->encr, wire_bits(s->encr, s->encr_bits));
	if (s->integ != SS_INTEG_NONE)
		add_tr(p, SS_TR_INTEG, s->integ, 0);
	if (with_dh && s->dh != SS_DH_NONE)
		add_tr(p, SS_TR_DH, s->dh, 0);
	add_tr(p, SS_TR_ESN, SS_ESN_NO, 0);
}

void prop_build_esp(ss_ike_sa_pl *sa, const ss_esp_suite *s, size_t n, uint32_t spi, bool with_dh)
{
	memset(sa, 0, sizeof(*sa));
	for (size_t i = 0; i < n && i < SS_IKE_MAX_PROPOSALS; i++) {
		ss_ike_proposal *p = &sa->prop[sa->n++];
		p->num = (uint8_t)(i + 1);
		esp_prop(p, &s[i], spi, with_dh);
	}
}

static bool has(const ss_ike_proposal *p, uint8_t type, uint16_t id, uint16_t bits)
{
	for (unsigned i = 0; i < p->n_transforms; i++) {
		const ss_ike_transform *t = &p->tr[i];
		if (t->type == type && t->id == id && !t->unknown_attr &&
		    (type != SS_TR_ENCR || t->key_len == bits))
			return true;
	}
	return false;
}

static bool has_type(const ss_ike_proposal *p, uint8_t type)
{
	for (unsigned i = 0; i < p->n_transforms; i++)
		if (p->tr[i].type == type)
			return true;
	return false;
}

/* "None" of an optional type matches a peer that lists no transform of the type or lists
 * the value 0 (§3.3.3: NONE may be proposed explicitly). */
static bool has_opt(const ss_ike_proposal *p, uint8_t type, uint16_t id)
{
	if (id == 0 && !has_type(p, type))
		return true;
	return has(p, type, id, 0);
}

static bool ike_match(const ss_ike_proposal *p, const ss_ike_suite *s)
{
	return p->proto == SS_PROTO_IKE && has(p, SS_TR_ENCR, s->encr, s->encr_bits) &&
	       has(p, SS_TR_PRF, s->prf, 0) && has_opt(p, SS_TR_INTEG, s->integ) &&
	       has(p, SS_TR_DH, s->dh, 0);
}

#define ESP_SPI_MIN 256 /* RFC 4303 §2.1: 1..255 reserved, 0 local use */

static uint32_t spi32(const ss_ike_proposal *p);

static bool esp_match(const ss_ike_proposal *p, const ss_esp_suite *s, bool ignore_dh)
{
	/* SPIs 0..255 are reserved (RFC 4303 §2.1): our SAD refuses them, so such a proposal
	 * could only end in a CHILD SA that cannot be installed. */
	return p->proto == SS_PROTO_ESP && p->spi_size == 4 && spi32(p) >= ESP_SPI_MIN &&
	       has(p, SS_TR_ENCR, s->encr, s->encr_bits) && has_opt(p, SS_TR_INTEG, s->integ) &&
	       (ignore_dh || has_opt(p, SS_TR_DH, s->dh)) && has_opt(p, SS_TR_ESN, SS_ESN_NO);
}

static uint32_t spi32(const ss_ike_proposal *p)
{
	return (uint32_t)p->spi[0] << 24 | (uint32_t)p->spi[1] << 16 | (uint32_t)p->spi[2] << 8 | p->spi[3];
}

bool prop_select_ike(const ss_ike_sa_pl *peer, const ss_ike_suite *ours, size_t n,
		     uint16_t ke_group, ss_ike_suite *out, uint8_t *num)
{
	for (unsigned i = 0; i < peer->n; i++) {
		/* Within one proposal, prefer the group the peer already sent a KE for: picking
		 * another would cost a round trip (INVALID_KE_PAYLOAD) for nothing. */
		const ss_ike_suite *pick = NULL;
		for (size_t j = 0; j < n; j++) {
			if (!ike_match(&peer->prop[i], &ours[j]))
				continue;
			if (ours[j].dh == ke_group) {
				pick = &ours[j];
				break;
			}
			if (!pick)
				pick = &ours[j];
		}
		if (pick) {
			*out = *pick;
			*num = peer->prop[i].num;
			return true;
		}
	}
	return false;
}

bool prop_select_esp(const ss_ike_sa_pl *peer, const ss_esp_suite *ours, size_t n, bool ignore_dh,
		     ss_esp_suite *out, uint8_t *num, uint32_t *peer_spi)
{
	for (unsigned i = 0; i < peer->n; i++)
		for (size_t j = 0; j < n; j++)
			if (esp_match(&peer->prop[i], &ours[j], ignore_dh)) {
				*out = ours[j];
				if (ignore_dh)
					out->dh = SS_DH_NONE;
				*num = peer->prop[i].num;
				*peer_spi = spi32(&peer->prop[i]);
				return true;
			}
	return false;
}

/* The answer has one proposal with at most one transform per type (§3.3.6). */
static bool single(const ss_ike_sa_pl *peer)
{
	if (peer->n != 1)
		return false;
	const ss_ike_proposal *p = &peer->prop[0];
	for (unsigned i = 0; i < p->n_transforms; i++)
		for (unsigned j = i + 1; j < p->n_transforms; j++)
			if (p->tr[i].type == p->tr[j].type)
				return false;
	return true;
}

bool prop_accept_ike(const ss_ike_sa_pl *peer, const ss_ike_suite *ours, size_t n, ss_ike_suite *out)
{
	if (!single(peer))
		return false;
	for (size_t j = 0; j < n; j++)
		if (ike_match(&peer->prop[0], &ours[j])) {
			*out = ours[j];
			return true;
		}
	return false;
}

bool prop_accept_esp(const ss_ike_sa_pl *peer, const ss_esp_suite *ours, size_t n, bool ignore_dh,
		     ss_esp_suite *out, uint32_t *peer_spi)
{
	if (!single(peer))
		return false;
	for (size_t j = 0; j < n; j++)
		if (esp_match(&peer->prop[0], &ours[j], ignore_dh)) {
			*out = ours[j];
			if (ignore_dh)
				out->dh = SS_DH_NONE;
			*peer_spi = spi32(&peer->prop[0]);
			return true;
		}
	return false;
}
