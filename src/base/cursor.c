#include "base/cursor.h"

#include <string.h>

ss_cur ss_cur_init(const void *p, size_t len)
{
	ss_cur c = { .p = p, .len = p ? len : 0, .off = 0, .err = false };
	return c;
}

const uint8_t *ss_cur_ptr(const ss_cur *c)
{
	return c->err ? NULL : c->p + c->off;
}

/* The single bounds check every read goes through. */
static bool need(ss_cur *c, size_t n)
{
	if (c->err || n > c->len - c->off) {
		c->err = true;
		return false;
	}
	return true;
}

uint8_t ss_cur_u8(ss_cur *c)
{
	if (!need(c, 1))
		return 0;
	return c->p[c->off++];
}

uint16_t ss_cur_be16(ss_cur *c)
{
	if (!need(c, 2))
		return 0;
	uint16_t v = (uint16_t)(c->p[c->off] << 8 | c->p[c->off + 1]);
	c->off += 2;
	return v;
}

uint32_t ss_cur_be32(ss_cur *c)
{
	if (!need(c, 4))
		return 0;
	const uint8_t *q = c->p + c->off;
	c->off += 4;
	return (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3];
}

uint64_t ss_cur_be64(ss_cur *c)
{
	uint64_t hi = ss_cur_be32(c);
	uint64_t lo = ss_cur_be32(c);
	return c->err ? 0 : hi << 32 | lo;
}

bool ss_cur_copy(ss_cur *c, void *out, size_t n)
{
	if (!need(c, n)) {
		if (out && n)
			memset(out, 0, n);
		return false;
	}
	if (n)
		memcpy(out, c->p + c->off, n);
	c->off += n;
	return true;
}

const uint8_t *ss_cur_take(ss_cur *c, size_t n)
{
	if (!need(c, n))
		return NULL;
	const uint8_t *q = c->p + c->off;
	c->off += n;
	return q;
}

ss_cur ss_cur_sub(ss_cur *c, size_t n)
{
	ss_cur s = { .p = NULL, .len = 0, .off = 0, .err = true };
	if (!need(c, n))
		return s;
	s.p = c->p + c->off;
	s.len = n;
	s.err = false;
	c->off += n;
	return s;
}

bool ss_cur_skip(ss_cur *c, size_t n)
{
	if (!need(c, n))
		return false;
	c->off += n;
	return true;
}

bool ss_cur_peek(const ss_cur *c, size_t at, void *out, size_t n)
{
	if (c->err || at > c->len - c->off || n > c->len - c->off - at)
		return false;
	memcpy(out, c->p + c->off + at, n);
	return true;
}

ss_buf ss_buf_init(void *p, size_t cap)
{
	ss_buf b = { .p = p, .cap = p ? cap : 0, .len = 0, .err = false };
	return b;
}

static bool room(ss_buf *b, size_t n)
{
	if (b->err || n > b->cap - b->len) {
		b->err = true;
		return false;
	}
	return true;
}

bool ss_buf_u8(ss_buf *b, uint8_t v)
{
	if (!room(b, 1))
		return false;
	b->p[b->len++] = v;
	return true;
}

bool ss_buf_be16(ss_buf *b, uint16_t v)
{
	if (!room(b, 2))
		return false;
	b->p[b->len++] = (uint8_t)(v >> 8);
	b->p[b->len++] = (uint8_t)v;
	return true;
}

bool ss_buf_be32(ss_buf *b, uint32_t v)
{
	if (!room(b, 4))
		return false;
	for (int s = 24; s >= 0; s -= 8)
		b->p[b->len++] = (uint8_t)(v >> s);
	return true;
}

bool ss_buf_be64(ss_buf *b, uint64_t v)
{
	return ss_buf_be32(b, (uint32_t)(v >> 32)) && ss_buf_be32(b, (uint32_t)v);
}

bool ss_buf_put(ss_buf *b, const void *p, size_t n)
{
	if (!room(b, n))
		return false;
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	return true;
}

bool ss_buf_zero(ss_buf *b, size_t n)
{
	if (!room(b, n))
		return false;
	memset(b->p + b->len, 0, n);
	b->len += n;
	return true;
}

size_t ss_buf_reserve(ss_buf *b, size_t n)
{
	size_t at = b->len;
	if (!ss_buf_zero(b, n))
		return SIZE_MAX;
	return at;
}

void ss_buf_set_be16(ss_buf *b, size_t at, uint16_t v)
{
	if (b->err || at > b->len || b->len - at < 2) {
		b->err = true;
		return;
	}
	b->p[at] = (uint8_t)(v >> 8);
	b->p[at + 1] = (uint8_t)v;
}

void ss_buf_set_be32(ss_buf *b, size_t at, uint32_t v)
{
	if (b->err || at > b->len || b->len - at < 4) {
		b->err = true;
		return;
	}
	for (int i = 0; i < 4; i++)
		b->p[at + i] = (uint8_t)(v >> (24 - 8 * i));
}
