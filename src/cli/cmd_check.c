/* softsa check: validate a policy and print its filters in effective order. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

typedef struct ranked {
	const ss_rule *rule;
	size_t rule_idx, filter_idx;
	ss_weight w;
} ranked;

/* Most specific first; equal weights keep file order (rule, then filter). */
static int by_effect(const void *x, const void *y)
{
	const ranked *a = x, *b = y;
	int c = ss_weight_cmp(b->w, a->w);
	if (c)
		return c;
	if (a->rule_idx != b->rule_idx)
		return a->rule_idx < b->rule_idx ? -1 : 1;
	return a->filter_idx < b->filter_idx ? -1 : a->filter_idx > b->filter_idx;
}

static ranked *rank(const ss_policy *p, size_t *n)
{
	size_t total = 0;
	for (size_t i = 0; i < p->n_rules; i++)
		total += p->rules[i].list->n_filters;
	ranked *r = calloc(total ? total : 1, sizeof(*r));
	if (!r)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < p->n_rules; i++)
		for (size_t j = 0; j < p->rules[i].list->n_filters; j++)
			r[k++] = (ranked){ &p->rules[i], i, j, ss_filter_weight(&p->rules[i].list->filters[j]) };
	qsort(r, total, sizeof(*r), by_effect);
	*n = total;
	return r;
}

static void note(json_t *notes, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(json_t *notes, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_array_append_new(notes, json_string(buf));
}

/* Lists and actions no rule uses are legal (Windows keeps them too) but worth a note. */
static void note_unused(const ss_policy *p, json_t *notes)
{
	for (size_t i = 0; i < p->n_lists; i++) {
		bool used = false;
		for (size_t j = 0; j < p->n_rules && !used; j++)
			used = p->rules[j].list == &p->lists[i];
		if (!used)
			note(notes, "filter list '%s' (line %u) is not used by any rule", p->lists[i].name,
				p->lists[i].loc.line);
	}
	for (size_t i = 0; i < p->n_actions; i++) {
		bool used = false;
		for (size_t j = 0; j < p->n_rules && !used; j++)
			used = p->rules[j].action == &p->actions[i];
		if (!used)
			note(notes, "filter action '%s' (line %u) is not used by any rule", p->actions[i].name,
				p->actions[i].loc.line);
	}
}

static const ss_filter *filter_of(const ranked *r)
{
	return &r->rule->list->filters[r->filter_idx];
}

static int ep_cmp(const ss_endpoint *a, const ss_endpoint *b)
{
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if (a->kind != SS_EP_PREFIX)
		return 0;
	if (a->prefix.len != b->prefix.len)
		return a->prefix.len < b->prefix.len ? -1 : 1;
	return ss_addr_cmp(&a->prefix.addr, &b->prefix.addr);
}

/* Same packets (one way): endpoints, protocol, ports. */
static int same_cmp(const ss_filter *a, const ss_filter *b)
{
	int c = ep_cmp(&a->src, &b->src);
	if (!c)
		c = ep_cmp(&a->dst, &b->dst);
	if (!c && a->proto != b->proto)
		c = a->proto < b->proto ? -1 : 1;
	if (!c)
		c = memcmp(&a->sport, &b->sport, sizeof(a->sport));
	if (!c)
		c = memcmp(&a->dport, &b->dport, sizeof(a->dport));
	return c;
}

/* Sorts pointers into the effective order by filter, then by position in that order. */
static int by_filter(const void *x, const void *y)
{
	const ranked *a = *(const ranked *const *)x, *b = *(const ranked *const *)y;
	int c = same_cmp(filter_of(a), filter_of(b));
	return c ? c : (a < b ? -1 : a > b);
}

/* A filter written again (in the same or another rule) never applies: the copy first in
 * effective order takes its packets.  Its mirror still may, when only the later one is
 * mirrored. */
static void note_shadowed(const ranked *r, size_t n, json_t *notes)
{
	const ranked **v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		v[i] = &r[i];
	qsort(v, n, sizeof(*v), by_filter);
	for (size_t i = 1; i < n; i++) {
		size_t first = i - 1;
		while (first > 0 && same_cmp(filter_of(v[first - 1]), filter_of(v[i])) == 0)
			first--;
		if (same_cmp(filter_of(v[first]), filter_of(v[i])) != 0)
			continue;
		const ss_filter *a = filter_of(v[first]), *b = filter_of(v[i]);
		if (b->mirrored && !a->mirrored)
			continue;
		note(notes, "filter %zu (rule '%s', line %u) never applies: filter %zu (rule '%s', line %u) "
			"matches the same packets first", (size_t)(v[i] - r) + 1, v[i]->rule->name, b->loc.line,
			(size_t)(v[first] - r) + 1, v[first]->rule->name, a->loc.line);
	}
	free(v);
}

static json_t *notes_of(const ss_policy *p, const ranked *r, size_t n)
{
	json_t *notes = json_array();
	note_unused(p, notes);
	note_shadowed(r, n, notes);
	return notes;
}

static void print_text(const ss_policy *p, const ranked *r, size_t n, json_t *notes)
{
	printf("policy '%s' (%s): valid\n", p->name, p->source);
	if (p->description)
		printf("  %s\n", p->description);
	printf("\nFilters in effective order (most specific first):\n");
	if (!n)
		printf("  (none: no rule has filters)\n");
	for (size_t i = 0; i < n; i++) {
		const ss_filter *f = &r[i].rule->list->filters[r[i].filter_idx];
		char fb[200], ab[400];
		printf("  %2zu. %-44s rule '%s' (list '%s' #%zu, line %u) -> %s\n", i + 1,
			ss_filter_fmt(f, fb, sizeof(fb)), r[i].rule->name, r[i].rule->list->name,
			r[i].filter_idx + 1, f->loc.line, ss_action_fmt(r[i].rule->action, ab, sizeof(ab)));
	}
	printf("  %2zu. %-44s %s\n", n + 1, "anything else",
		p->default_response ? "permit in the clear; Default Response answers IKE, never initiates"
				    : "permit in the clear; IKE from unknown peers is not answered");
	for (size_t i = 0; i < p->n_rules; i++)
		if (p->rules[i].tunnel) {
			char a[SS_ADDR_STRLEN];
			printf("  rule '%s' uses tunnel mode to %s\n", p->rules[i].name,
				ss_addr_fmt(&p->rules[i].tunnel_endpoint, a));
		}
	for (size_t i = 0; i < json_array_size(notes); i++)
		printf("  note: %s\n", json_string_value(json_array_get(notes, i)));
	printf("\nIKE: ");
	for (size_t i = 0; i < p->ike.n_proposals; i++) {
		char b[64];
		printf("%s%s", i ? ", " : "", ss_ike_method_fmt(&p->ike.proposals[i], b, sizeof(b)));
	}
	printf("; lifetime %u s; %u attempts, a silent peer is decided after %.1f s\n", p->ike.lifetime,
		p->ike.retx.attempts, ss_retx_silent_decision(&p->ike.retx) / 1000.0);
	printf("Downgrade protection: %u s (%.1f days)\n", p->downgrade_protection,
		p->downgrade_protection / 86400.0);
}

static json_t *to_json(const ss_policy *p, const ranked *r, size_t n, json_t *notes)
{
	json_t *order = json_array();
	for (size_t i = 0; i < n; i++) {
		const ss_filter *f = &r[i].rule->list->filters[r[i].filter_idx];
		json_t *e = json_pack("{s:s, s:s, s:i, s:o, s:o}", "rule", r[i].rule->name, "filter_list",
			r[i].rule->list->name, "filter_index", (int)r[i].filter_idx + 1, "filter", ss_filter_json(f),
			"action", ss_action_json(r[i].rule->action));
		json_object_set_new(e, "weight", json_pack("{s:i, s:i, s:I}", "addr", r[i].w.addr, "proto",
			r[i].w.proto, "ports", (json_int_t)r[i].w.ports));
		if (r[i].rule->tunnel) {
			char a[SS_ADDR_STRLEN];
			json_object_set_new(e, "tunnel", json_string(ss_addr_fmt(&r[i].rule->tunnel_endpoint, a)));
		}
		json_array_append_new(order, e);
	}
	json_t *ike = json_array();
	for (size_t i = 0; i < p->ike.n_proposals; i++) {
		char b[64];
		json_array_append_new(ike, json_string(ss_ike_method_fmt(&p->ike.proposals[i], b, sizeof(b))));
	}
	json_t *j = json_pack("{s:b, s:s, s:s, s:o, s:b}", "valid", 1, "name", p->name, "source", p->source,
		"rules", order, "default_response", p->default_response);
	if (p->builtin)
		json_object_set_new(j, "builtin", json_string(p->builtin));
	json_object_set_new(j, "ike", json_pack("{s:o, s:i, s:i, s:I}", "proposals", ike, "lifetime",
		p->ike.lifetime, "attempts", p->ike.retx.attempts, "silent_decision_ms", (json_int_t)ss_retx_silent_decision(&p->ike.retx)));
	json_object_set_new(j, "downgrade_protection", json_integer(p->downgrade_protection));
	json_object_set(j, "notes", notes);
	return j;
}

int cmd_check(const cli_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = { CLI_SOURCE_OPTS, { 0, 0, 0, 0 } };
	cli_source src = { 0 };
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+hj", opts, NULL)) != -1) {
		if (c == 'h') {
			cli_usage(cmd, stdout);
			fputs("\n", stdout);
			fputs(cmd->help, stdout);
			return CLI_OK;
		}
		if (!cli_source_opt(&src, c, optarg))
			return cli_usage_error(cmd, "bad option");
	}
	int rest = argc - optind;
	if (src.builtin ? rest != 0 : rest != 1)
		return cli_usage_error(cmd, src.builtin ? "a FILE and --builtin do not go together"
							: "expected one policy FILE (or --builtin NAME)");
	src.file = src.builtin ? NULL : argv[optind];
	ss_policy *p = cli_load(&src);
	if (!p)
		return CLI_FAIL;
	size_t n = 0;
	ranked *r = rank(p, &n);
	if (!r) {
		fprintf(stderr, "softsa check: out of memory\n");
		ss_policy_free(p);
		return CLI_FAIL;
	}
	json_t *notes = notes_of(p, r, n);
	if (src.json)
		cli_print_json(to_json(p, r, n, notes));
	else
		print_text(p, r, n, notes);
	json_decref(notes);
	free(r);
	ss_policy_free(p);
	return CLI_OK;
}
