/* libFuzzer target: what a directory sends, through the pure side of src/directory (DNs,
 * policy entries, assignment resolution).  The input is a small TLV of entries, read with
 * the cursor:
 *
 *   u8 len, host DN
 *   then up to 16 entries: u16 len, DN; u8 n_attrs (<= 8); per attribute: u8 len, name;
 *                          u8 n_vals (<= 8); per value: u16 len, bytes
 *
 * Besides not crashing: a DN's canonical form is a fixed point (parsing it again gives it
 * back), and a resolution's winner applies to the host. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/cursor.h"
#include "directory/entry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_E = 16, MAX_A = 8, MAX_V = 8 };

typedef struct fz {
	ss_dir_entry e[MAX_E];
	ss_dir_attr a[MAX_E][MAX_A];
	ss_dir_val v[MAX_E][MAX_A][MAX_V];
	char dn[MAX_E][1100];
	char name[MAX_E][MAX_A][256];
	size_t n;
} fz;

static bool str8(ss_cur *c, char *out, size_t cap)
{
	size_t n = ss_cur_u8(c);
	const uint8_t *p = ss_cur_take(c, n);
	if (!p || n >= cap)
		return false;
	memcpy(out, p, n);
	out[n] = '\0';
	return true;
}

static bool read_entry(ss_cur *c, fz *f)
{
	size_t i = f->n;
	size_t dl = ss_cur_be16(c);
	const uint8_t *dp = ss_cur_take(c, dl);
	if (!dp || dl >= sizeof(f->dn[i]))
		return false;
	memcpy(f->dn[i], dp, dl);
	f->dn[i][dl] = '\0';
	size_t na = ss_cur_u8(c);
	if (!ss_cur_ok(c) || na > MAX_A)
		return false;
	for (size_t k = 0; k < na; k++) {
		if (!str8(c, f->name[i][k], sizeof(f->name[i][k])))
			return false;
		size_t nv = ss_cur_u8(c);
		if (!ss_cur_ok(c) || nv > MAX_V)
			return false;
		for (size_t j = 0; j < nv; j++) {
			size_t vl = ss_cur_be16(c);
			const uint8_t *vp = ss_cur_take(c, vl);
			if (!vp)
				return false;
			f->v[i][k][j] = (ss_dir_val){ vp, vl };
		}
		f->a[i][k] = (ss_dir_attr){ f->name[i][k], f->v[i][k], nv };
	}
	f->e[i] = (ss_dir_entry){ f->dn[i], f->a[i], na };
	f->n++;
	return true;
}

static void fixed_point(const char *s, size_t len)
{
	ss_dn a, b;
	const char *why;
	if (!ss_dn_parse(s, len, &a, &why))
		return;
	if (!ss_dn_parse(a.s, a.len, &b, &why) || !ss_dn_eq(&a, &b) || a.n != b.n)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static fz f;
	memset(&f, 0, sizeof(f));
	ss_cur c = ss_cur_init(data, size);
	char host_s[256];
	if (!str8(&c, host_s, sizeof(host_s)))
		return 0;
	fixed_point(host_s, strlen(host_s));
	while (f.n < MAX_E && ss_cur_left(&c) && read_entry(&c, &f))
		;
	char err[512];
	for (size_t i = 0; i < f.n; i++) {
		fixed_point(f.dn[i], strlen(f.dn[i]));
		for (size_t k = 0; k < f.e[i].n_attrs; k++)
			for (size_t j = 0; j < f.a[i][k].n; j++)
				fixed_point((const char *)f.v[i][k][j].p, f.v[i][k][j].len);
		ss_dir_policy p;
		if (ss_dir_policy_parse(&f.e[i], &p, err, sizeof(err)) && (!p.doc_len || p.doc_len > SS_DIR_DOC_MAX))
			abort();
	}
	ss_dn host;
	const char *why;
	if (!ss_dn_parse(host_s, strlen(host_s), &host, &why))
		return 0;
	static char filter[16 * SS_DN_MAX];
	ss_dn root = { 0 };
	if (ss_dir_assignment_filter(&host, &root, filter, sizeof(filter)) && strlen(filter) >= sizeof(filter))
		abort();
	ss_dir_choice ch;
	if (!ss_dir_resolve(&host, f.e, f.n, &ch, err, sizeof(err)))
		return 0;
	if (ch.via == SS_DIR_VIA_HOST && !ss_dn_eq(&ch.holder, &host))
		abort();
	if (ch.via == SS_DIR_VIA_OU && ss_dn_above(&ch.holder, &host) != ch.levels)
		abort();
	if (ch.via != SS_DIR_VIA_NONE && ch.considered == 0)
		abort();
	return 0;
}
