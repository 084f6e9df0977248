/* IKEv2 message building over ss_buf: payloads laid one after another, each new payload
 * patching the previous next-payload field, lengths filled when a payload ends. */
#include "ike/codec.h"

#include <string.h>

void ss_ike_hdr_write(ss_buf *b, const ss_ike_hdr *h)
{
	ss_buf_be64(b, h->spi_i);
	ss_buf_be64(b, h->spi_r);
	ss_buf_u8(b, h->next_payload);
	ss_buf_u8(b, h->version ? h->version : SS_IKE_VERSION);
	ss_buf_u8(b, h->exchange);
	ss_buf_u8(b, h->flags);
	ss_buf_be32(b, h->msg_id);
	ss_buf_be32(b, h->length);
}

void ss_ikew_init(ss_ike_writer *w, void *buf, size_t cap, const ss_ike_hdr *hdr)
{
	memset(w, 0, sizeof(*w));
	w->b = ss_buf_init(buf, cap);
	w->has_hdr = true;
	ss_ike_hdr h = *hdr;
	h.next_payload = SS_PL_NONE;
	h.length = 0;
	ss_ike_hdr_write(&w->b, &h);
	w->np_at = 16;
	w->len_at = SIZE_MAX;
}

void ss_ikew_init_inner(ss_ike_writer *w, void *buf, size_t cap)
{
	memset(w, 0, sizeof(*w));
	w->b = ss_buf_init(buf, cap);
	w->np_at = SIZE_MAX;
	w->len_at = SIZE_MAX;
}

static void patch_u8(ss_buf *b, size_t at, uint8_t v)
{
	if (!b->err && at < b->len)
		b->p[at] = v;
}

void ss_ikew_begin(ss_ike_writer *w, uint8_t type, bool critical)
{
	if (w->np_at == SIZE_MAX)
		w->first = type;
	else
		patch_u8(&w->b, w->np_at, type);
	w->pl_start = w->b.len;
	w->np_at = w->b.len;
	ss_buf_u8(&w->b, SS_PL_NONE);
	ss_buf_u8(&w->b, critical ? SS_PL_CRITICAL : 0);
	w->len_at = ss_buf_reserve(&w->b, 2);
}

void ss_ikew_end(ss_ike_writer *w)
{
	size_t len = w->b.len - w->pl_start;
	if (len > UINT16_MAX)
		w->b.err = true;
	else
		ss_buf_set_be16(&w->b, w->len_at, (uint16_t)len);
}

size_t ss_ikew_finish(ss_ike_writer *w)
{
	if (w->has_hdr)
		ss_buf_set_be32(&w->b, 24, (uint32_t)w->b.len);
	return ss_buf_ok(&w->b) ? w->b.len : 0;
}

static void put_transform(ss_buf *b, const ss_ike_transform *t, bool last)
{
	ss_buf_u8(b, last ? SS_SUB_LAST : SS_SUB_MORE_TRANSFORM);
	ss_buf_u8(b, 0);
	ss_buf_be16(b, t->key_len ? 12 : 8);
	ss_buf_u8(b, t->type);
	ss_buf_u8(b, 0);
	ss_buf_be16(b, t->id);
	if (t->key_len) {
		ss_buf_be16(b, SS_ATTR_AF | SS_ATTR_KEY_LENGTH);
		ss_buf_be16(b, t->key_len);
	}
}

void ss_ikew_sa(ss_ike_writer *w, const ss_ike_sa_pl *sa)
{
	ss_ikew_begin(w, SS_PL_SA, false);
	for (unsigned i = 0; i < sa->n; i++) {
		const ss_ike_proposal *pr = &sa->prop[i];
		size_t start = w->b.len;
		ss_buf_u8(&w->b, i + 1u == sa->n ? SS_SUB_LAST : SS_SUB_MORE_PROPOSAL);
		ss_buf_u8(&w->b, 0);
		size_t len_at = ss_buf_reserve(&w->b, 2);
		ss_buf_u8(&w->b, pr->num ? pr->num : (uint8_t)(i + 1));
		ss_buf_u8(&w->b, pr->proto);
		ss_buf_u8(&w->b, pr->spi_size);
		ss_buf_u8(&w->b, pr->n_transforms);
		ss_buf_put(&w->b, pr->spi, pr->spi_size);
		for (unsigned j = 0; j < pr->n_transforms; j++)
			put_transform(&w->b, &pr->tr[j], j + 1u == pr->n_transforms);
		ss_buf_set_be16(&w->b, len_at, (uint16_t)(w->b.len - start));
	}
	ss_ikew_end(w);
}

void ss_ikew_ke(ss_ike_writer *w, uint16_t group, const uint8_t *data, size_t len)
{
	ss_ikew_begin(w, SS_PL_KE, false);
	ss_buf_be16(&w->b, group);
	ss_buf_be16(&w->b, 0);
	ss_buf_put(&w->b, data, len);
	ss_ikew_end(w);
}

void ss_ikew_nonce(ss_ike_writer *w, const uint8_t *data, size_t len)
{
	ss_ikew_raw(w, SS_PL_NONCE, false, data, len);
}

void ss_ikew_id(ss_ike_writer *w, uint8_t pl_type, uint8_t id_type, const uint8_t *data, size_t len)
{
	ss_ikew_begin(w, pl_type, false);
	ss_buf_u8(&w->b, id_type);
	ss_buf_zero(&w->b, 3);
	ss_buf_put(&w->b, data, len);
	ss_ikew_end(w);
}

void ss_ikew_auth(ss_ike_writer *w, uint8_t method, const uint8_t *data, size_t len)
{
	ss_ikew_begin(w, SS_PL_AUTH, false);
	ss_buf_u8(&w->b, method);
	ss_buf_zero(&w->b, 3);
	ss_buf_put(&w->b, data, len);
	ss_ikew_end(w);
}

void ss_ikew_notify(ss_ike_writer *w, uint8_t proto, const uint8_t *spi, uint8_t spi_size,
		    uint16_t type, const uint8_t *data, size_t len)
{
	ss_ikew_begin(w, SS_PL_NOTIFY, false);
	ss_buf_u8(&w->b, proto);
	ss_buf_u8(&w->b, spi_size);
	ss_buf_be16(&w->b, type);
	ss_buf_put(&w->b, spi, spi_size);
	ss_buf_put(&w->b, data, len);
	ss_ikew_end(w);
}

void ss_ikew_delete(ss_ike_writer *w, uint8_t proto, uint8_t spi_size, uint16_t n_spi,
		    const uint8_t *spis)
{
	ss_ikew_begin(w, SS_PL_DELETE, false);
	ss_buf_u8(&w->b, proto);
	ss_buf_u8(&w->b, spi_size);
	ss_buf_be16(&w->b, n_spi);
	ss_buf_put(&w->b, spis, (size_t)spi_size * n_spi);
	ss_ikew_end(w);
}

void ss_ikew_ts(ss_ike_writer *w, uint8_t pl_type, const ss_ike_ts_pl *ts)
{
	ss_ikew_begin(w, pl_type, false);
	ss_buf_u8(&w->b, ts->n);
	ss_buf_zero(&w->b, 3);
	for (unsigned i = 0; i < ts->n; i++) {
		const ss_ike_ts *t = &ts->ts[i];
		bool v4 = t->start.family == SS_AF_INET;
		size_t alen = v4 ? 4 : 16;
		ss_buf_u8(&w->b, v4 ? SS_TS_IPV4_ADDR_RANGE : SS_TS_IPV6_ADDR_RANGE);
		ss_buf_u8(&w->b, t->ip_proto);
		ss_buf_be16(&w->b, (uint16_t)(8 + 2 * alen));
		ss_buf_be16(&w->b, t->port_start);
		ss_buf_be16(&w->b, t->port_end);
		ss_buf_put(&w->b, t->start.a, alen);
		ss_buf_put(&w->b, t->end.a, alen);
	}
	ss_ikew_end(w);
}

void ss_ikew_vendor(ss_ike_writer *w, const uint8_t *data, size_t len)
{
	ss_ikew_raw(w, SS_PL_VENDOR, false, data, len);
}

void ss_ikew_cert(ss_ike_writer *w, uint8_t pl_type, uint8_t enc, const uint8_t *data, size_t len)
{
	ss_ikew_begin(w, pl_type, false);
	ss_buf_u8(&w->b, enc);
	ss_buf_put(&w->b, data, len);
	ss_ikew_end(w);
}

void ss_ikew_raw(ss_ike_writer *w, uint8_t type, bool critical, const uint8_t *data, size_t len)
{
	ss_ikew_begin(w, type, critical);
	ss_buf_put(&w->b, data, len);
	ss_ikew_end(w);
}
