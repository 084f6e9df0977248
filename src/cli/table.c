/* Text tables for the control subcommands: every cell copied, columns as wide as their
 * widest cell. */
#include <stdlib.h>
#include <string.h>

#include "cli/ctl.h"

struct cli_table {
	size_t ncol, nrows, cap;
	char **cells; /* nrows x ncol, row 0 the headers */
};

cli_table *cli_table_new(size_t ncol, const char *const *headers)
{
	cli_table *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->ncol = ncol;
	cli_table_add(t, headers);
	return t;
}

void cli_table_add(cli_table *t, const char *const *cells)
{
	if (!t)
		return;
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 8;
		char **c = realloc(t->cells, cap * t->ncol * sizeof(*c));
		if (!c)
			return;
		t->cells = c;
		t->cap = cap;
	}
	for (size_t i = 0; i < t->ncol; i++)
		t->cells[t->nrows * t->ncol + i] = strdup(cells[i] ? cells[i] : "-");
	t->nrows++;
}

void cli_table_print(cli_table *t, FILE *out)
{
	if (!t)
		return;
	size_t w[16] = { 0 };
	size_t ncol = t->ncol < 16 ? t->ncol : 16;
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t i = 0; i < ncol; i++) {
			const char *s = t->cells[r * t->ncol + i];
			size_t l = s ? strlen(s) : 0;
			if (l > w[i])
				w[i] = l;
		}
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t i = 0; i < ncol; i++) {
			const char *s = t->cells[r * t->ncol + i];
			if (i + 1 == ncol)
				fprintf(out, "%s\n", s ? s : "");
			else
				fprintf(out, "%-*s  ", (int)w[i], s ? s : "");
		}
	}
}

void cli_table_free(cli_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nrows * t->ncol; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}
