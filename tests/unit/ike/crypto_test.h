/* Helpers shared by the crypto tests: hex literals for known-answer vectors. */
#ifndef SS_TEST_CRYPTO_TEST_H
#define SS_TEST_CRYPTO_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

static inline int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes a hex string (spaces ignored) into out; fails the test on bad input. */
static inline size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;
	for (; *s; s++) {
		if (*s == ' ')
			continue;
		int v = hexval(*s);
		assert_true(v >= 0);
		if (hi < 0) {
			hi = v;
			continue;
		}
		assert_true(n < cap);
		out[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	assert_true(hi < 0);
	return n;
}

/* Asserts that buf[0, len) equals the hex string. */
#define assert_hex(buf, len, hex)                                  \
	do {                                                           \
		uint8_t want_[1024];                                       \
		size_t wn_ = unhex((hex), want_, sizeof(want_));           \
		assert_int_equal((len), wn_);                              \
		assert_memory_equal((buf), want_, wn_);                    \
	} while (0)

#endif
