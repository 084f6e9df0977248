/* Scenario files: a small line-oriented text format that sets up a simulated network, says
 * what happens when, and states what must be observed.  See scenarios/README for the
 * grammar.  Each file is one test; every failed expectation is reported as file:line. */
#include "scenario.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define MAX_TOK 32
#define MAX_POL 16
#define MAX_EXPECT 256

typedef struct expect {
	int line;
	char text[512];
	char *tok[MAX_TOK];
	int ntok;
	char buf[512];
} expect;

typedef struct scen {
	const char *path;
	sim *s;
	sim_policy *pols[MAX_POL];
	int npol;
	expect ex[MAX_EXPECT];
	int nex;
	int failures;
	ss_time run_until;
	int line;
	bool parse_error;
} scen;

static void fail(scen *c, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s:%d: ", c->path, line);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	c->failures++;
}

/* "3000", "3000ms", "3s", "5m", "2h" -> ms */
static bool parse_time(const char *t, ss_time *out)
{
	char *end;
	double v = strtod(t, &end);
	if (end == t || v < 0)
		return false;
	double mul = 1;
	if (!strcmp(end, "") || !strcmp(end, "ms"))
		mul = 1;
	else if (!strcmp(end, "s"))
		mul = 1000;
	else if (!strcmp(end, "m"))
		mul = 60000;
	else if (!strcmp(end, "h"))
		mul = 3600000;
	else
		return false;
	*out = (ss_time)(v * mul + 0.5);
	return true;
}

static const char *kv(char **tok, int n, const char *key)
{
	size_t kl = strlen(key);
	for (int i = 0; i < n; i++)
		if (!strncmp(tok[i], key, kl) && tok[i][kl] == '=')
			return tok[i] + kl + 1;
	return NULL;
}

static sim_policy *policy_copy(scen *c, const char *name)
{
	for (int i = 0; i < c->npol; i++)
		if (!strcmp(c->pols[i]->name, name))
			return simpol_clone(c->pols[i]);
	return simpol_builtin(name);
}

static int host(scen *c, const char *name)
{
	int h = sim_host_by_name(c->s, name);
	if (h < 0)
		fail(c, c->line, "unknown host '%s'", name);
	return h;
}

static int parse_state(const char *t, uint32_t *attempt)
{
	*attempt = 0;
	for (int st = 0; st < SS_AS_COUNT; st++) {
		const char *n = ss_assoc_state_name((unsigned)st);
		size_t l = strlen(n);
		if (!strncmp(t, n, l)) {
			if (t[l] == '(')
				*attempt = (uint32_t)atoi(t + l + 1);
			else if (t[l])
				continue;
			return st;
		}
	}
	return -1;
}

static int parse_wire(const char *t)
{
	static const char *const names[SIM_W_COUNT] = { "clear", "ike", "esp", "icmp" };
	for (int k = 0; k < SIM_W_COUNT; k++)
		if (!strcmp(t, names[k]))
			return k;
	return -1;
}

static int parse_drop(const char *t)
{
	for (int r = 0; r < SS_DROP_REASON_COUNT; r++)
		if (!strcmp(t, ss_drop_reason_name((unsigned)r)))
			return r;
	return -1;
}

/* --- set-up directives ----------------------------------------------------------------- */

static bool agent_or_legacy(scen *c, char **tok, int n, int h, ss_time at, bool now)
{
	/* tok: "agent POLICY [psk=K]" | "legacy icmp|silent" */
	if (n >= 2 && !strcmp(tok[0], "agent")) {
		sim_policy *p = policy_copy(c, tok[1]);
		if (!p)
			return false;
		const char *psk = kv(tok, n, "psk");
		if (now)
			return sim_host_agent(c->s, h, p, psk);
		sim_at_become(c->s, at, h, SIM_HOST_AGENT, p, psk);
		return true;
	}
	if (n >= 2 && !strcmp(tok[0], "legacy")) {
		enum sim_kind k;
		if (!strcmp(tok[1], "icmp"))
			k = SIM_HOST_LEGACY_ICMP;
		else if (!strcmp(tok[1], "silent"))
			k = SIM_HOST_LEGACY_SILENT;
		else if (!strcmp(tok[1], "ikev1"))
			k = SIM_HOST_LEGACY_IKEV1;
		else
			return false;
		if (now)
			sim_host_legacy(c->s, h, k);
		else
			sim_at_become(c->s, at, h, k, NULL, NULL);
		return true;
	}
	return false;
}

static bool do_at(scen *c, char **tok, int n)
{
	ss_time t;
	if (n < 3 || !parse_time(tok[1], &t))
		return false;
	const char *what = tok[2];
	if (!strcmp(what, "send") && n >= 5) {
		int a = host(c, tok[3]), b = host(c, tok[4]);
		if (a < 0 || b < 0)
			return false;
		uint8_t proto = 17;
		for (int i = 5; i < n; i++)
			if (!strcmp(tok[i], "tcp"))
				proto = 6;
		const char *v;
		uint16_t sport = (v = kv(tok, n, "sport")) ? (uint16_t)atoi(v) : 40000;
		uint16_t dport = (v = kv(tok, n, "dport")) ? (uint16_t)atoi(v) : 7;
		uint32_t len = (v = kv(tok, n, "len")) ? (uint32_t)atoi(v) : 100;
		int count = (v = kv(tok, n, "count")) ? atoi(v) : 1;
		ss_time every = 0;
		if ((v = kv(tok, n, "every")) && !parse_time(v, &every))
			return false;
		for (int i = 0; i < count; i++)
			sim_at_send(c->s, t + (ss_time)i * every, a, b, proto, sport, dport, len);
		return true;
	}
	if ((!strcmp(what, "restart") || !strcmp(what, "crash")) && n == 4) {
		int h = host(c, tok[3]);
		if (h >= 0 && what[0] == 'r')
			sim_at_restart(c->s, t, h);
		else if (h >= 0)
			sim_at_crash(c->s, t, h);
		return h >= 0;
	}
	if (!strcmp(what, "terminate") && n == 5) {
		int h = host(c, tok[3]), p = host(c, tok[4]);
		if (h >= 0 && p >= 0)
			sim_at_terminate(c->s, t, h, p);
		return h >= 0 && p >= 0;
	}
	if (!strcmp(what, "reload") && n == 5) {
		int h = host(c, tok[3]);
		sim_policy *p = policy_copy(c, tok[4]);
		if (h < 0 || !p) {
			simpol_free(p);
			return false;
		}
		sim_at_reload(c->s, t, h, p);
		return true;
	}
	if (!strcmp(what, "become") && n >= 5) {
		int h = host(c, tok[3]);
		return h >= 0 && agent_or_legacy(c, tok + 4, n - 4, h, t, false);
	}
	return false;
}

static bool do_directive(scen *c, char **tok, int n)
{
	const char *d = tok[0];
	if (!strcmp(d, "seed") && n == 2) {
		c->s->rng = strtoull(tok[1], NULL, 10) | 1;
		return true;
	}
	if (!strcmp(d, "policy") && n >= 2) {
		if (c->npol == MAX_POL)
			return false;
		sim_policy *p = simpol_new(tok[1]);
		c->pols[c->npol++] = p;
		for (int i = 2; i < n; i++)
			if (!simpol_option(p, tok[i]))
				return false;
		return true;
	}
	if (!strcmp(d, "policy-file") && n == 3) {
		/* A YAML policy through the real loader; the path is relative to the scenario. */
		char path[1024];
		const char *slash = strrchr(c->path, '/');
		if (tok[2][0] == '/' || !slash)
			snprintf(path, sizeof(path), "%s", tok[2]);
		else
			snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - c->path), c->path, tok[2]);
		sim_policy *p = c->npol < MAX_POL ? simpol_file(path) : NULL;
		if (!p)
			return false;
		snprintf(p->name, sizeof(p->name), "%s", tok[1]);
		c->pols[c->npol++] = p;
		return true;
	}
	if (!strcmp(d, "rule") && n >= 2 && c->npol) {
		sim_policy *p = c->pols[c->npol - 1];
		ss_rule *r = simpol_add_rule(p, tok[1]);
		if (!r)
			return false;
		for (int i = 2; i < n; i++)
			if (!simpol_rule_option(p, r, tok[i]))
				return false;
		return true;
	}
	if (!strcmp(d, "host") && n >= 5) {
		int h = sim_add_host(c->s, tok[1], tok[2]);
		return h >= 0 && agent_or_legacy(c, tok + 3, n - 3, h, 0, true);
	}
	if (!strcmp(d, "link") && n >= 2) {
		const char *v;
		uint32_t delay = (v = kv(tok, n, "delay")) ? (uint32_t)atoi(v) : 0;
		uint32_t loss = (v = kv(tok, n, "loss")) ? (uint32_t)atoi(v) : 0;
		if (!strcmp(tok[1], "default")) {
			c->s->default_link = (sim_link){ delay, loss, true };
			return true;
		}
		int a = n >= 3 ? host(c, tok[1]) : -1, b = n >= 3 ? host(c, tok[2]) : -1;
		if (a < 0 || b < 0)
			return false;
		sim_set_link(c->s, a, b, delay, loss);
		return true;
	}
	if (!strcmp(d, "spoof-icmp") && n >= 3) {
		int a = host(c, tok[1]), b = host(c, tok[2]);
		const char *v = kv(tok, n, "delay");
		if (a < 0 || b < 0)
			return false;
		c->s->spoof_delay[a][b] = v ? atoi(v) : 0;
		return true;
	}
	if (!strcmp(d, "lose") && n == 5) {
		/* lose A B KIND N: the N-th packet of KIND from A to B never arrives */
		int a = host(c, tok[1]), b = host(c, tok[2]), k = parse_wire(tok[3]);
		long nth = atol(tok[4]);
		if (a < 0 || b < 0 || k < 0 || nth < 1 || c->s->n_losses == 16)
			return false;
		c->s->losses[c->s->n_losses++] = (struct sim_loss){ (uint8_t)a, (uint8_t)b, (uint8_t)k, (uint64_t)nth };
		return true;
	}
	if (!strcmp(d, "at"))
		return do_at(c, tok, n);
	if (!strcmp(d, "run") && n == 2)
		return parse_time(tok[1], &c->run_until);
	return false;
}

/* --- expectations ---------------------------------------------------------------------- */

static uint64_t get_dropped(sim_host *h, int reason)
{
	uint64_t v = h->dropped[reason];
	if (h->agent) {
		ss_agent_stats st;
		ss_agent_get_stats(h->agent, &st);
		v += st.dropped[reason];
	}
	return v;
}

static void check_state(scen *c, expect *e, char **t, int n)
{
	/* at T state A B STATE | at T held A N */
	if (!strcmp(t[2], "held") && n == 5) {
		int a = host(c, t[3]);
		if (a >= 0 && c->s->hosts[a].held_out != (uint32_t)atoi(t[4]))
			fail(c, e->line, "%s: %u packets held", e->text, c->s->hosts[a].held_out);
		return;
	}
	int a = host(c, t[3]), b = host(c, t[4]);
	uint32_t want_att, att;
	int want = parse_state(t[5], &want_att);
	if (a < 0 || b < 0)
		return;
	int got = sim_state(c->s, a, b, &att);
	if (got != want || (want_att && att != want_att))
		fail(c, e->line, "%s: state is %s(%u)", e->text, ss_assoc_state_name((unsigned)got), att);
}

static void on_check(sim *s, void *ctx, uint32_t id)
{
	scen *c = ctx;
	expect *e = &c->ex[id];
	(void)s;
	check_state(c, e, e->tok + 1, e->ntok - 1);
}

static void check_transition(scen *c, expect *e, char **t, int n)
{
	/* transition A B FROM TO at T */
	ss_time when;
	uint32_t fa, ta;
	int a = host(c, t[1]), b = host(c, t[2]);
	int from = parse_state(t[3], &fa), to = parse_state(t[4], &ta);
	if (a < 0 || b < 0 || from < 0 || to < 0 || n != 7 || strcmp(t[5], "at") || !parse_time(t[6], &when)) {
		fail(c, e->line, "bad expectation: %s", e->text);
		return;
	}
	ss_time first = SS_NEVER;
	for (size_t i = 0; i < c->s->tlog_n; i++) {
		sim_transition *x = &c->s->tlog[i];
		if (x->host != a || x->peer != b || x->from != from || x->to != to)
			continue;
		if (ta && x->attempt != ta)
			continue;
		if (x->at == when)
			return;
		if (first == SS_NEVER)
			first = x->at;
	}
	if (first == SS_NEVER)
		fail(c, e->line, "%s: never happened", e->text);
	else
		fail(c, e->line, "%s: happened at %llu", e->text, (unsigned long long)first);
}

static void check_after(scen *c, expect *e)
{
	char **t = e->tok + 1;
	int n = e->ntok - 1;
	if (!strcmp(t[0], "transition")) {
		check_transition(c, e, t, n);
	} else if (!strcmp(t[0], "never") && n == 4) {
		int a = host(c, t[1]), b = host(c, t[2]);
		uint32_t att;
		int st = parse_state(t[3], &att);
		for (size_t i = 0; i < c->s->tlog_n; i++) {
			sim_transition *x = &c->s->tlog[i];
			if (x->host == a && x->peer == b && x->to == st) {
				fail(c, e->line, "%s: it did at %llu (%s)", e->text, (unsigned long long)x->at, x->reason);
				return;
			}
		}
	} else if (!strcmp(t[0], "wire") && n == 5) {
		int a = host(c, t[1]), b = host(c, t[2]), k = parse_wire(t[3]);
		if (a < 0 || b < 0 || k < 0)
			fail(c, e->line, "bad expectation: %s", e->text);
		else if (c->s->wire[a][b][k] != strtoull(t[4], NULL, 10))
			fail(c, e->line, "%s: got %llu", e->text, (unsigned long long)c->s->wire[a][b][k]);
	} else if (!strcmp(t[0], "wire-times") && n >= 4) {
		int a = host(c, t[1]), b = host(c, t[2]), k = parse_wire(t[3]);
		char got[256] = "";
		size_t gl = 0;
		int want_n = n - 4, got_n = 0;
		bool ok = a >= 0 && b >= 0 && k >= 0;
		for (size_t i = 0; ok && i < c->s->wlog_n; i++) {
			sim_wire_rec *w = &c->s->wlog[i];
			if (w->src != a || w->dst != b || w->kind != k)
				continue;
			ss_time want;
			if (got_n >= want_n || !parse_time(t[4 + got_n], &want) || want != w->at)
				ok = false;
			got_n++;
			if (gl < sizeof(got) - 24)
				gl += (size_t)snprintf(got + gl, sizeof(got) - gl, " %llu", (unsigned long long)w->at);
		}
		for (size_t i = 0; ok && i < c->s->wlog_n; i++)
			;
		if (!ok || got_n != want_n)
			fail(c, e->line, "%s: got%s", e->text, got);
	} else if (!strcmp(t[0], "delivered") && n == 4) {
		int a = host(c, t[1]), b = host(c, t[2]);
		if (a >= 0 && b >= 0 && c->s->delivered[a][b] != strtoull(t[3], NULL, 10))
			fail(c, e->line, "%s: got %llu", e->text, (unsigned long long)c->s->delivered[a][b]);
	} else if (!strcmp(t[0], "dropped") && n == 4) {
		int a = host(c, t[1]), r = parse_drop(t[2]);
		if (a < 0 || r < 0)
			fail(c, e->line, "bad expectation: %s", e->text);
		else if (get_dropped(&c->s->hosts[a], r) != strtoull(t[3], NULL, 10))
			fail(c, e->line, "%s: got %llu", e->text, (unsigned long long)get_dropped(&c->s->hosts[a], r));
	} else {
		fail(c, e->line, "unknown expectation: %s", e->text);
	}
}

/* --- driver ---------------------------------------------------------------------------- */

static int tokenize(char *line, char **tok)
{
	char *hash = strchr(line, '#');
	if (hash)
		*hash = 0;
	int n = 0;
	for (char *p = strtok(line, " \t\r\n"); p && n < MAX_TOK; p = strtok(NULL, " \t\r\n"))
		tok[n++] = p;
	return n;
}

static void print_transcript(const scen *c)
{
	for (size_t i = 0; i < c->s->tlog_n; i++) {
		const sim_transition *x = &c->s->tlog[i];
		printf("  %8llu  %s -> %s  %s", (unsigned long long)x->at, c->s->hosts[x->host].name,
		       x->peer >= 0 ? c->s->hosts[x->peer].name : "?", ss_assoc_state_name(x->from));
		printf(" -> %s", ss_assoc_state_name(x->to));
		if (x->to == SS_AS_NEGOTIATING && x->attempt)
			printf("(%u)", x->attempt);
		printf("  (%s)\n", x->reason);
	}
}

int scenario_run(const char *path, const sim_negotiator_ops *nops)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "%s: cannot open\n", path);
		return 1;
	}
	scen *c = calloc(1, sizeof(*c));
	c->path = path;
	c->s = sim_new(1);
	c->s->log_wire = true;
	if (nops)
		c->s->default_nops = nops;
	c->s->on_check = on_check;
	c->s->check_ctx = c;
	c->run_until = SS_NEVER;
	char line[512];
	while (fgets(line, sizeof(line), f)) {
		c->line++;
		char copy[512];
		snprintf(copy, sizeof(copy), "%s", line);
		char *tok[MAX_TOK];
		int n = tokenize(line, tok);
		if (!n)
			continue;
		/* expect[NEGOTIATOR] ...: only when the hosts negotiate with that one (where the
		 * stand-in and the real engine legitimately differ). */
		if (!strncmp(tok[0], "expect[", 7)) {
			size_t l = strlen(c->s->default_nops->name);
			if (strncmp(tok[0] + 7, c->s->default_nops->name, l) != 0 || strcmp(tok[0] + 7 + l, "]") != 0)
				continue;
			char *e = strstr(copy, "expect["), *p = strchr(e, ']');
			memmove(e + 6, p + 1, strlen(p + 1) + 1); /* "expect" + the rest */
			n = tokenize(strcpy(line, copy), tok);
		}
		if (!strcmp(tok[0], "expect")) {
			if (c->nex == MAX_EXPECT || n < 2) {
				fail(c, c->line, "too many or empty expectations");
				continue;
			}
			expect *e = &c->ex[c->nex];
			e->line = c->line;
			snprintf(e->buf, sizeof(e->buf), "%s", copy);
			snprintf(e->text, sizeof(e->text), "%s", copy);
			e->text[strcspn(e->text, "\r\n#")] = 0;
			e->ntok = tokenize(e->buf, e->tok);
			ss_time t;
			if (!strcmp(e->tok[1], "at")) {
				if (e->ntok < 5 || !parse_time(e->tok[2], &t)) {
					fail(c, c->line, "bad expectation: %s", e->text);
					continue;
				}
				sim_at_check(c->s, t, (uint32_t)c->nex);
			}
			c->nex++;
			continue;
		}
		if (!do_directive(c, tok, n))
			fail(c, c->line, "cannot understand: %s", copy);
	}
	fclose(f);
	if (c->run_until == SS_NEVER)
		fail(c, c->line, "no `run` line");
	else
		sim_run(c->s, c->run_until);
	for (int i = 0; i < c->nex; i++)
		if (strcmp(c->ex[i].tok[1], "at") != 0)
			check_after(c, &c->ex[i]);
	if (c->s->rule8_violations)
		fail(c, c->line, "%llu clear packets broke rule 8", (unsigned long long)c->s->rule8_violations);
	if (c->s->reordered)
		fail(c, c->line, "%llu packets delivered out of order", (unsigned long long)c->s->reordered);
	printf("%s: transitions:\n", path);
	print_transcript(c);
	int failures = c->failures;
	sim_free(c->s);
	for (int i = 0; i < c->npol; i++)
		simpol_free(c->pols[i]);
	free(c);
	return failures;
}
