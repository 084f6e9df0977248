/* The one way softsa reads untrusted bytes (ss_cur) and writes wire messages (ss_buf).
 *
 * A read past the end never touches memory: it sets the sticky error flag and returns zero
 * (or an empty sub-cursor), so a parser may read a whole header and check ss_cur_ok() once.
 * No code outside this file does pointer arithmetic on packet data. */
#ifndef SS_BASE_CURSOR_H
#define SS_BASE_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ss_cur {
	const uint8_t *p;
	size_t len;
	size_t off;
	bool err;
} ss_cur;

ss_cur ss_cur_init(const void *p, size_t len);
static inline size_t ss_cur_left(const ss_cur *c) { return c->err ? 0 : c->len - c->off; }
static inline bool ss_cur_ok(const ss_cur *c) { return !c->err; }
static inline bool ss_cur_done(const ss_cur *c) { return !c->err && c->off == c->len; }
/* Pointer to the unread rest, for handing a verified region to a crypto routine. */
const uint8_t *ss_cur_ptr(const ss_cur *c);

uint8_t ss_cur_u8(ss_cur *c);
uint16_t ss_cur_be16(ss_cur *c);
uint32_t ss_cur_be32(ss_cur *c);
uint64_t ss_cur_be64(ss_cur *c);
/* Copies n bytes into out; on short input sets the error and zeroes out. */
bool ss_cur_copy(ss_cur *c, void *out, size_t n);
/* Borrows n bytes: returns a pointer into the buffer, or NULL (and the error) when short. */
const uint8_t *ss_cur_take(ss_cur *c, size_t n);
/* A sub-cursor over the next n bytes; the parent advances past them. */
ss_cur ss_cur_sub(ss_cur *c, size_t n);
bool ss_cur_skip(ss_cur *c, size_t n);
/* Look without consuming. */
bool ss_cur_peek(const ss_cur *c, size_t at, void *out, size_t n);

/* Writer over a caller-supplied buffer; overflow is sticky like the reader's. */
typedef struct ss_buf {
	uint8_t *p;
	size_t cap;
	size_t len;
	bool err;
} ss_buf;

ss_buf ss_buf_init(void *p, size_t cap);
static inline bool ss_buf_ok(const ss_buf *b) { return !b->err; }
bool ss_buf_u8(ss_buf *b, uint8_t v);
bool ss_buf_be16(ss_buf *b, uint16_t v);
bool ss_buf_be32(ss_buf *b, uint32_t v);
bool ss_buf_be64(ss_buf *b, uint64_t v);
bool ss_buf_put(ss_buf *b, const void *p, size_t n);
bool ss_buf_zero(ss_buf *b, size_t n);
/* Reserves n bytes to fill later (e.g. a length field); returns their offset or SIZE_MAX. */
size_t ss_buf_reserve(ss_buf *b, size_t n);
void ss_buf_set_be16(ss_buf *b, size_t at, uint16_t v);
void ss_buf_set_be32(ss_buf *b, size_t at, uint32_t v);

#endif
