/* IKEv2 parsing: every length and count is checked before any field is interpreted, every
 * rejection says what was expected and what came, and is counted. */
#include "ike/codec.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"

#define SUB "ike-codec"

static enum ss_ike_codec_err reject(ss_ike_codec_stats *st, enum ss_ike_codec_err e,
				    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static enum ss_ike_codec_err reject(ss_ike_codec_stats *st, enum ss_ike_codec_err e,
				    const char *fmt, ...)
{
	char msg[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (st)
		st->rejected[e]++;
	SS_DEBUG(SUB, "reject (%s): %s", ss_ike_codec_err_name(e), msg);
	return e;
}

static void excess(ss_ike_codec_stats *st)
{
	if (st)
		st->excess_ignored++;
}

enum ss_ike_codec_err ss_ike_parse_header(const uint8_t *p, size_t len, ss_ike_hdr *h,
					  ss_cur *rest, ss_ike_codec_stats *st)
{
	ss_cur c = ss_cur_init(p, len);
	memset(h, 0, sizeof(*h));
	if (len < SS_IKE_HDR_LEN)
		return reject(st, SS_CODEC_TRUNCATED, "header: expected >= %d bytes, got %zu",
			      SS_IKE_HDR_LEN, len);
	h->spi_i = ss_cur_be64(&c);
	h->spi_r = ss_cur_be64(&c);
	h->next_payload = ss_cur_u8(&c);
	h->version = ss_cur_u8(&c);
	h->exchange = ss_cur_u8(&c);
	h->flags = ss_cur_u8(&c);
	h->msg_id = ss_cur_be32(&c);
	h->length = ss_cur_be32(&c);
	if ((h->version >> 4) != 2)
		return reject(st, SS_CODEC_BAD_VERSION, "header: expected major version 2, got %u",
			      h->version >> 4);
	if (h->length != len)
		return reject(st, h->length > len ? SS_CODEC_TRUNCATED : SS_CODEC_BAD_LENGTH,
			      "header: expected length %zu (datagram), got %u", len, h->length);
	*rest = ss_cur_sub(&c, len - SS_IKE_HDR_LEN);
	return SS_CODEC_OK;
}

/* §3.3.5: attributes of one transform; only Key Length (TV) is known. */
static enum ss_ike_codec_err parse_attrs(ss_cur *c, ss_ike_transform *t, ss_ike_codec_stats *st)
{
	while (ss_cur_left(c) > 0) {
		if (ss_cur_left(c) < 4)
			return reject(st, SS_CODEC_BAD_LENGTH,
				      "transform attribute: expected >= 4 bytes, got %zu", ss_cur_left(c));
		uint16_t type = ss_cur_be16(c);
		uint16_t val = ss_cur_be16(c);
		if (!(type & SS_ATTR_AF)) {
			/* TLV: val is a length. */
			if (val > ss_cur_left(c))
				return reject(st, SS_CODEC_TRUNCATED,
					      "transform attribute: expected %u value bytes, got %zu",
					      val, ss_cur_left(c));
			ss_cur_skip(c, val);
			t->unknown_attr = true;
		} else if ((type & ~SS_ATTR_AF) == SS_ATTR_KEY_LENGTH) {
			t->key_len = val;
		} else {
			t->unknown_attr = true;
		}
	}
	return SS_CODEC_OK;
}

static enum ss_ike_codec_err parse_transform(ss_cur *c, bool last_expected, ss_ike_proposal *pr,
					     ss_ike_codec_stats *st)
{
	if (ss_cur_left(c) < 8)
		return reject(st, SS_CODEC_TRUNCATED, "transform: expected >= 8 bytes, got %zu",
			      ss_cur_left(c));
	uint8_t more = ss_cur_u8(c);
	ss_cur_u8(c);
	uint16_t tlen = ss_cur_be16(c);
	if (tlen < 8 || tlen - 4u > ss_cur_left(c))
		return reject(st, SS_CODEC_BAD_LENGTH, "transform length: expected 8..%zu, got %u",
			      ss_cur_left(c) + 4, tlen);
	uint8_t want = last_expected ? SS_SUB_LAST : SS_SUB_MORE_TRANSFORM;
	if (more != want)
		return reject(st, SS_CODEC_BAD_VALUE, "transform last-substruc: expected %u, got %u",
			      want, more);
	ss_cur body = ss_cur_sub(c, tlen - 4u);
	ss_ike_transform t = { 0 };
	t.type = ss_cur_u8(&body);
	ss_cur_u8(&body);
	t.id = ss_cur_be16(&body);
	enum ss_ike_codec_err e = parse_attrs(&body, &t, st);
	if (e)
		return e;
	if (pr->n_transforms < SS_IKE_MAX_TRANSFORMS)
		pr->tr[pr->n_transforms++] = t;
	else
		excess(st);
	return SS_CODEC_OK;
}

static enum ss_ike_codec_err parse_proposal(ss_cur *c, uint8_t expect_num, ss_ike_sa_pl *sa,
					    uint8_t *num, ss_ike_codec_stats *st)
{
	if (ss_cur_left(c) < 8)
		return reject(st, SS_CODEC_TRUNCATED, "proposal: expected >= 8 bytes, got %zu",
			      ss_cur_left(c));
	uint8_t more = ss_cur_u8(c);
	ss_cur_u8(c);
	uint16_t plen = ss_cur_be16(c);
	if (plen < 8 || plen - 4u > ss_cur_left(c))
		return reject(st, SS_CODEC_BAD_LENGTH, "proposal length: expected 8..%zu, got %u",
			      ss_cur_left(c) + 4, plen);
	ss_cur body = ss_cur_sub(c, plen - 4u);
	uint8_t want = ss_cur_left(c) == 0 ? SS_SUB_LAST : SS_SUB_MORE_PROPOSAL;
	if (more != want)
		return reject(st, SS_CODEC_BAD_VALUE, "proposal last-substruc: expected %u, got %u",
			      want, more);
	ss_ike_proposal pr = { 0 };
	pr.num = ss_cur_u8(&body);
	pr.proto = ss_cur_u8(&body);
	pr.spi_size = ss_cur_u8(&body);
	uint8_t n_tr = ss_cur_u8(&body);
	/* §3.3.1: numbering starts at 1 and grows by one; equal numbers would mean AND-ed
	 * proposals (AH+ESP), which IKEv2 no longer has for our protocols.  A response's single
	 * proposal carries the number of the one accepted, so the first may be any but 0. */
	if (expect_num == 0 ? pr.num == 0 : pr.num != expect_num)
		return reject(st, SS_CODEC_BAD_COUNT, "proposal number: expected %s%u, got %u",
			      expect_num ? "" : ">= ", expect_num ? expect_num : 1u, pr.num);
	if (pr.spi_size > SS_IKE_MAX_SPI || pr.spi_size > ss_cur_left(&body))
		return reject(st, SS_CODEC_BAD_LENGTH, "proposal SPI size: expected <= %zu, got %u",
			      ss_cur_left(&body) < SS_IKE_MAX_SPI ? ss_cur_left(&body) : SS_IKE_MAX_SPI,
			      pr.spi_size);
	ss_cur_copy(&body, pr.spi, pr.spi_size);
	if (n_tr == 0)
		return reject(st, SS_CODEC_BAD_COUNT, "proposal %u: expected >= 1 transform, got 0",
			      pr.num);
	for (unsigned i = 0; i < n_tr; i++) {
		if (ss_cur_left(&body) == 0)
			return reject(st, SS_CODEC_BAD_COUNT, "proposal %u: expected %u transforms, got %u",
				      pr.num, n_tr, i);
		enum ss_ike_codec_err e = parse_transform(&body, i + 1u == n_tr, &pr, st);
		if (e)
			return e;
	}
	if (ss_cur_left(&body) != 0)
		return reject(st, SS_CODEC_BAD_LENGTH,
			      "proposal %u: expected no bytes after %u transforms, got %zu",
			      pr.num, n_tr, ss_cur_left(&body));
	*num = pr.num;
	if (sa->n < SS_IKE_MAX_PROPOSALS)
		sa->prop[sa->n++] = pr;
	else
		excess(st);
	return SS_CODEC_OK;
}

static enum ss_ike_codec_err parse_sa(ss_cur *c, ss_ike_sa_pl *sa, ss_ike_codec_stats *st)
{
	if (ss_cur_left(c) == 0)
		return reject(st, SS_CODEC_BAD_COUNT, "SA: expected >= 1 proposal, got 0");
	unsigned num = 0;
	while (ss_cur_left(c) > 0) {
		if (num >= 255)
			return reject(st, SS_CODEC_BAD_COUNT, "SA: expected proposal numbers <= 255, got more");
		uint8_t got = 0;
		enum ss_ike_codec_err e = parse_proposal(c, (uint8_t)(num ? num + 1 : 0), sa, &got, st);
		if (e)
			return e;
		num = got;
	}
	return SS_CODEC_OK;
}

static ss_ike_bytes rest_bytes(ss_cur *c)
{
	size_t n = ss_cur_left(c);
	ss_ike_bytes b = { .p = ss_cur_take(c, n), .len = n };
	return b;
}

static enum ss_ike_codec_err parse_ke(ss_cur *c, ss_ike_ke_pl *ke, ss_ike_codec_stats *st)
{
	if (ss_cur_left(c) < 5)
		return reject(st, SS_CODEC_BAD_LENGTH, "KE: expected >= 5 bytes, got %zu", ss_cur_left(c));
	ke->group = ss_cur_be16(c);
	ss_cur_be16(c);
	ke->data = rest_bytes(c);
	return SS_CODEC_OK;
}

static enum ss_ike_codec_err parse_id(ss_cur *c, ss_ike_id_pl *id, ss_ike_codec_stats *st)
{
	if (ss_cur_left(c) < 5)
		return reject(st, SS_CODEC_BAD_LENGTH, "ID: expected >= 5 bytes, got %zu", ss_cur_left(c));
	id->body.len = ss_cur_left(c);
	id->body.p = ss_cur_ptr(c);
	id->type = ss_cur_u8(c);
	ss_cur_skip(c, 3);
	/* Every ID type we take (addresses, FQDN, KEY_ID) fits ss_ike_id's 255 bytes; a longer
	 * one would otherwise be compared and looked up by its first 255 bytes only. */
	if (ss_cur_left(c) > 255)
		return reject(st, SS_CODEC_BAD_LENGTH, "ID: expected <= 255 bytes of data, got %zu",
			      ss_cur_left(c));
	id->data = rest_bytes(c);
	return SS_CODEC_OK;
}

static enum ss_ike_codec_err parse_auth(ss_cur *c, ss_ike_auth_pl *a, ss_ike_codec_stats *st)
{
	if (ss_cur_left(c) < 5)
		return reject(st, SS_CODEC_BAD_LENGTH, "AUTH: expected >= 5 bytes, got %zu", ss_cur_left(c));
	a->method = ss_cur_u8(c);
	ss_cur_skip(c, 3);
	a->data = rest_bytes(c);
	return SS_CODEC_OK;
}

static enum ss_ike_codec_err parse_nonce(ss_cur *c, ss_ike_bytes *n, ss_ike_codec_stats *st)
{
	/* §3.9: between 16 and 256 octets. */
	if (ss_cur_left(c) < 16 || ss_cur_left(c) > 256)
		return reject(st, SS_CODEC_BAD_LENGTH, "nonce: expected 16..256 bytes, got %zu",
			      ss_cur_left(c));
	*n = rest_bytes(c);
	return SS_CODEC_OK;
}

static enum ss_ike_codec_err parse_notify(ss_cur *c, ss_ike_msg *m, ss_ike_codec_stats *st)
{
	if (ss_cur_left(c) < 4)
		return reject(st, SS_CODEC_BAD_LENGTH, "notify: expected >= 4 bytes, got %zu",
			      ss_cur_left(c));
	ss_ike_notify_pl n = { 0 };
	n.proto = ss_cur_u8(c);
	n.spi_size = ss_cur_u8(c);
	n.type = ss_cur_be16(c);
	if (n.spi_size > SS_IKE_MAX_SPI || n.spi_size > ss_cur_left(c))
		return reject(st, SS_CODEC_BAD_LENGTH, "notify SPI size: expected <= %zu, got %u",
			      ss_cur_left(c) < SS_IKE_MAX_SPI ? ss_cur_left(c) : SS_IKE_MAX_SPI,
			      n.spi_size);
	ss_cur_copy(c, n.spi, n.spi_size);
	n.data = rest_bytes(c);
	if (m->n_notify < SS_IKE_MAX_NOTIFIES)
		m->notify[m->n_notify++] = n;
	else
		excess(st);
	return SS_CODEC_OK;
}

static enum ss_ike_codec_err parse_delete(ss_cur *c, ss_ike_msg *m, ss_ike_codec_stats *st)
{
	if (ss_cur_left(c) < 4)
		return reject(st, SS_CODEC_BAD_LENGTH, "delete: expected >= 4 bytes, got %zu",
			      ss_cur_left(c));
	ss_ike_delete_pl d = { 0 };
	d.proto = ss_cur_u8(c);
	d.spi_size = ss_cur_u8(c);
	d.n_spi = ss_cur_be16(c);
	size_t want = (size_t)d.spi_size * d.n_spi;
	if (ss_cur_left(c) != want)
		return reject(st, SS_CODEC_BAD_LENGTH, "delete: expected %u SPIs of %u bytes = %zu, got %zu",
			      d.n_spi, d.spi_size, want, ss_cur_left(c));
	/* §3.11: IKE SA deletes carry no SPI; ESP/AH carry 4-byte SPIs. */
	if ((d.proto == SS_PROTO_IKE && (d.spi_size != 0 || d.n_spi != 0)) ||
	    ((d.proto == SS_PROTO_ESP || d.proto == SS_PROTO_AH) && d.spi_size != 4))
		return reject(st, SS_CODEC_BAD_VALUE, "delete proto %u: expected SPI size %u, got %u",
			      d.proto, d.proto == SS_PROTO_IKE ? 0u : 4u, d.spi_size);
	d.spis = rest_bytes(c);
	if (m->n_delete < SS_IKE_MAX_DELETES)
		m->del[m->n_delete++] = d;
	else
		excess(st);
	return SS_CODEC_OK;
}

static enum ss_ike_codec_err parse_one_ts(ss_cur *c, ss_ike_ts_pl *tp, ss_ike_codec_stats *st)
{
	if (ss_cur_left(c) < 8)
		return reject(st, SS_CODEC_TRUNCATED, "traffic selector: expected >= 8 bytes, got %zu",
			      ss_cur_left(c));
	ss_ike_ts t = { 0 };
	t.type = ss_cur_u8(c);
	t.ip_proto = ss_cur_u8(c);
	uint16_t len = ss_cur_be16(c);
	size_t alen = t.type == SS_TS_IPV4_ADDR_RANGE ? 4 : t.type == SS_TS_IPV6_ADDR_RANGE ? 16 : 0;
	if (alen == 0)
		return reject(st, SS_CODEC_BAD_VALUE, "traffic selector type: expected 7 or 8, got %u",
			      t.type);
	if (len != 8 + 2 * alen || len - 4u > ss_cur_left(c))
		return reject(st, SS_CODEC_BAD_LENGTH, "traffic selector length: expected %zu, got %u",
			      8 + 2 * alen, len);
	t.port_start = ss_cur_be16(c);
	t.port_end = ss_cur_be16(c);
	t.start.family = t.end.family = alen == 4 ? SS_AF_INET : SS_AF_INET6;
	ss_cur_copy(c, t.start.a, alen);
	ss_cur_copy(c, t.end.a, alen);
	if (tp->n < SS_IKE_MAX_TS)
		tp->ts[tp->n++] = t;
	else
		excess(st);
	return SS_CODEC_OK;
}

static enum ss_ike_codec_err parse_ts(ss_cur *c, ss_ike_ts_pl *tp, ss_ike_codec_stats *st)
{
	if (ss_cur_left(c) < 4)
		return reject(st, SS_CODEC_BAD_LENGTH, "TS: expected >= 4 bytes, got %zu", ss_cur_left(c));
	uint8_t n = ss_cur_u8(c);
	ss_cur_skip(c, 3);
	if (n == 0)
		return reject(st, SS_CODEC_BAD_COUNT, "TS: expected >= 1 selector, got 0");
	for (unsigned i = 0; i < n; i++) {
		enum ss_ike_codec_err e = parse_one_ts(c, tp, st);
		if (e)
			return e;
	}
	if (ss_cur_left(c) != 0)
		return reject(st, SS_CODEC_BAD_LENGTH, "TS: expected no bytes after %u selectors, got %zu",
			      n, ss_cur_left(c));
	return SS_CODEC_OK;
}

static void count_up(uint8_t *n)
{
	if (*n < UINT8_MAX)
		(*n)++;
}

/* §3.6 / §3.7: encoding octet and data.  A CERT needs at least one byte of data; a CERTREQ
 * may be empty (§3.7: "any certificate"); X.509 CERTREQ data is whole SHA-1 hashes. */
static enum ss_ike_codec_err parse_cert(ss_cur *c, uint8_t type, ss_ike_cert_pl *out, uint8_t *n,
					ss_ike_codec_stats *st)
{
	size_t min = type == SS_PL_CERT ? 2 : 1;
	if (ss_cur_left(c) < min)
		return reject(st, SS_CODEC_BAD_LENGTH, "%s: expected >= %zu bytes, got %zu",
			      ss_ike_payload_name(type), min, ss_cur_left(c));
	ss_ike_cert_pl p;
	p.enc = ss_cur_u8(c);
	p.data = rest_bytes(c);
	if (type == SS_PL_CERTREQ && p.enc == SS_CERT_X509_SIG && p.data.len % SS_CERTREQ_HASH_LEN)
		return reject(st, SS_CODEC_BAD_LENGTH, "CERTREQ: expected a multiple of %d bytes, got %zu",
			      SS_CERTREQ_HASH_LEN, p.data.len);
	if (*n < SS_IKE_MAX_CERTS)
		out[*n] = p;
	else
		excess(st);
	count_up(n);
	return SS_CODEC_OK;
}

/* Payload types that must appear at most once per message. */
static bool is_unique(uint8_t t)
{
	switch (t) {
	case SS_PL_SA: case SS_PL_KE: case SS_PL_IDI: case SS_PL_IDR: case SS_PL_AUTH:
	case SS_PL_NONCE: case SS_PL_TSI: case SS_PL_TSR: case SS_PL_SK: case SS_PL_CP:
	case SS_PL_EAP:
		return true;
	default:
		return false;
	}
}

static bool is_known(uint8_t t)
{
	return t >= SS_PL_SA && t <= SS_PL_EAP;
}

static enum ss_ike_codec_err parse_body(uint8_t type, ss_cur *body, ss_ike_msg *m,
					ss_ike_codec_stats *st)
{
	switch (type) {
	case SS_PL_SA: return parse_sa(body, &m->sa, st);
	case SS_PL_KE: return parse_ke(body, &m->ke, st);
	case SS_PL_IDI: return parse_id(body, &m->idi, st);
	case SS_PL_IDR: return parse_id(body, &m->idr, st);
	case SS_PL_AUTH: return parse_auth(body, &m->auth, st);
	case SS_PL_NONCE: return parse_nonce(body, &m->nonce, st);
	case SS_PL_NOTIFY: return parse_notify(body, m, st);
	case SS_PL_DELETE: return parse_delete(body, m, st);
	case SS_PL_TSI: return parse_ts(body, &m->tsi, st);
	case SS_PL_TSR: return parse_ts(body, &m->tsr, st);
	case SS_PL_CERT: return parse_cert(body, type, m->cert, &m->n_cert, st);
	case SS_PL_CERTREQ: return parse_cert(body, type, m->certreq, &m->n_certreq, st);
	case SS_PL_VENDOR: count_up(&m->n_vendor); return SS_CODEC_OK;
	case SS_PL_CP: count_up(&m->n_cp); return SS_CODEC_OK;
	case SS_PL_EAP: count_up(&m->n_eap); return SS_CODEC_OK;
	default: return SS_CODEC_OK;
	}
}

enum ss_ike_codec_err ss_ike_parse_payloads(ss_cur *c, uint8_t first, const uint8_t *base,
					    ss_ike_msg *m, ss_ike_codec_stats *st)
{
	uint8_t type = first;
	while (type != SS_PL_NONE) {
		if (ss_cur_left(c) < SS_IKE_GEN_HDR_LEN)
			return reject(st, SS_CODEC_TRUNCATED, "%s payload header: expected 4 bytes, got %zu",
				      ss_ike_payload_name(type), ss_cur_left(c));
		size_t pl_off = base ? (size_t)(ss_cur_ptr(c) - base) : 0;
		uint8_t next = ss_cur_u8(c);
		uint8_t crit = ss_cur_u8(c) & SS_PL_CRITICAL;
		uint16_t len = ss_cur_be16(c);
		if (len < SS_IKE_GEN_HDR_LEN || len - 4u > ss_cur_left(c))
			return reject(st, len < 4 ? SS_CODEC_BAD_LENGTH : SS_CODEC_TRUNCATED,
				      "%s payload length: expected 4..%zu, got %u",
				      ss_ike_payload_name(type), ss_cur_left(c) + 4, len);
		ss_cur body = ss_cur_sub(c, len - 4u);
		if (type == SS_PL_SK) {
			if (ss_ike_has(m, SS_PL_SK))
				return reject(st, SS_CODEC_DUPLICATE, "SK: expected once, got twice");
			/* §3.14: SK is the last payload; its next-payload names the first inner one. */
			if (ss_cur_left(c) != 0)
				return reject(st, SS_CODEC_SK_NOT_LAST,
					      "SK: expected last payload, got %zu bytes after it",
					      ss_cur_left(c));
			if (ss_cur_left(&body) == 0)
				return reject(st, SS_CODEC_BAD_LENGTH, "SK: expected a body, got 0 bytes");
			m->seen |= 1u << (SS_PL_SK - SS_PL_SA);
			m->sk.first_inner = next;
			m->sk.offset = pl_off;
			m->sk.body = rest_bytes(&body);
			return SS_CODEC_OK;
		}
		if (!is_known(type)) {
			if (crit) {
				m->unsupported_critical = type;
				return reject(st, SS_CODEC_CRITICAL,
					      "payload type: expected a known one for a critical payload, got %u",
					      type);
			}
			if (st)
				st->unknown_skipped++;
			type = next;
			continue;
		}
		if (is_unique(type)) {
			if (ss_ike_has(m, type))
				return reject(st, SS_CODEC_DUPLICATE, "%s: expected once, got twice",
					      ss_ike_payload_name(type));
			m->seen |= 1u << (type - SS_PL_SA);
		}
		enum ss_ike_codec_err e = parse_body(type, &body, m, st);
		if (e)
			return e;
		type = next;
	}
	if (ss_cur_left(c) != 0)
		return reject(st, SS_CODEC_BAD_LENGTH, "payload chain: expected end, got %zu more bytes",
			      ss_cur_left(c));
	return SS_CODEC_OK;
}

enum ss_ike_codec_err ss_ike_parse(const uint8_t *p, size_t len, ss_ike_msg *m,
				   ss_ike_codec_stats *st)
{
	memset(m, 0, sizeof(*m));
	ss_cur rest;
	enum ss_ike_codec_err e = ss_ike_parse_header(p, len, &m->hdr, &rest, st);
	if (!e)
		e = ss_ike_parse_payloads(&rest, m->hdr.next_payload, p, m, st);
	if (!e && st)
		st->parsed++;
	return e;
}

const ss_ike_notify_pl *ss_ike_find_notify(const ss_ike_msg *m, uint16_t type)
{
	for (unsigned i = 0; i < m->n_notify; i++)
		if (m->notify[i].type == type)
			return &m->notify[i];
	return NULL;
}

const ss_ike_notify_pl *ss_ike_first_error(const ss_ike_msg *m)
{
	for (unsigned i = 0; i < m->n_notify; i++)
		if (m->notify[i].type <= SS_N_ERROR_MAX)
			return &m->notify[i];
	return NULL;
}
