/* softsa check: validate a policy and print its filters in effective order. */
#include <getopt.h>
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

static void print_text(const ss_policy *p, const ranked *r, size_t n)
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
			cli_filter_fmt(f, fb, sizeof(fb)), r[i].rule->name, r[i].rule->list->name,
			r[i].filter_idx + 1, f->loc.line, cli_action_fmt(r[i].rule->action, ab, sizeof(ab)));
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
	printf("\nIKE: ");
	for (size_t i = 0; i < p->ike.n_proposals; i++) {
		char b[64];
		printf("%s%s", i ? ", " : "", ss_ike_proposal_fmt(&p->ike.proposals[i], b, sizeof(b)));
	}
	printf("; lifetime %u s; %u attempts, a silent peer is decided after %.1f s\n", p->ike.lifetime,
		p->ike.retx.attempts, cli_silent_ms(p) / 1000.0);
	printf("Downgrade protection: %u s (%.1f days)\n", p->downgrade_protection,
		p->downgrade_protection / 86400.0);
}

static json_t *to_json(const ss_policy *p, const ranked *r, size_t n)
{
	json_t *order = json_array();
	for (size_t i = 0; i < n; i++) {
		const ss_filter *f = &r[i].rule->list->filters[r[i].filter_idx];
		json_t *e = json_pack("{s:s, s:s, s:i, s:o, s:o}", "rule", r[i].rule->name, "filter_list",
			r[i].rule->list->name, "filter_index", (int)r[i].filter_idx + 1, "filter", cli_filter_json(f),
			"action", cli_action_json(r[i].rule->action));
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
		json_array_append_new(ike, json_string(ss_ike_proposal_fmt(&p->ike.proposals[i], b, sizeof(b))));
	}
	json_t *j = json_pack("{s:b, s:s, s:s, s:o, s:b}", "valid", 1, "name", p->name, "source", p->source,
		"rules", order, "default_response", p->default_response);
	if (p->builtin)
		json_object_set_new(j, "builtin", json_string(p->builtin));
	json_object_set_new(j, "ike", json_pack("{s:o, s:i, s:i, s:I}", "proposals", ike, "lifetime",
		p->ike.lifetime, "attempts", p->ike.retx.attempts, "silent_decision_ms", (json_int_t)cli_silent_ms(p)));
	json_object_set_new(j, "downgrade_protection", json_integer(p->downgrade_protection));
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
	if (src.json)
		cli_print_json(to_json(p, r, n));
	else
		print_text(p, r, n);
	free(r);
	ss_policy_free(p);
	return CLI_OK;
}
