/* YAML text to a small tree of nodes that remember where they were written, through
 * libyaml's event API.  Aliases are refused: the policy schema is shallow, and refusing
 * them removes any chance of an alias bomb making the loader walk the same subtree
 * exponentially often. */
#include "policy/load_int.h"

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "base/secure.h"

/* Deeper than any valid policy (policy > rules > rule > auth > method is 5). */
#define YN_MAX_DEPTH 32

const char *yn_kind_name(unsigned kind)
{
	switch (kind) {
	case YN_SCALAR: return "a scalar";
	case YN_SEQ: return "a sequence";
	case YN_MAP: return "a mapping";
	}
	return "?";
}

void yn_free(ynode *n)
{
	if (!n)
		return;
	/* A map's len counts filled slots, including a key still waiting for its value. */
	size_t items = n->kind == YN_MAP ? n->len : n->n;
	for (size_t i = 0; i < items; i++)
		yn_free(n->items[i]);
	free(n->items);
	if (n->kind == YN_SCALAR)
		ss_free_secret(n->str, n->len);
	free(n);
}

const ynode *yn_get(const ynode *m, const char *key)
{
	if (!m || m->kind != YN_MAP)
		return NULL;
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(yn_key(m, i)->str, key) == 0)
			return yn_val(m, i);
	return NULL;
}

const ynode *yn_get_key(const ynode *m, const char *key)
{
	if (!m || m->kind != YN_MAP)
		return NULL;
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(yn_key(m, i)->str, key) == 0)
			return yn_key(m, i);
	return NULL;
}

bool yn_is_null(const ynode *n)
{
	return n->kind == YN_SCALAR && n->plain &&
		(n->len == 0 || strcmp(n->str, "~") == 0 || strcmp(n->str, "null") == 0);
}

static ynode *yn_new(struct ld *l, uint8_t kind, const yaml_mark_t *m)
{
	ynode *n = calloc(1, sizeof(*n));
	if (!n) {
		ld_fail_at(l, (unsigned)m->line + 1, (unsigned)m->column + 1, "out of memory");
		return NULL;
	}
	n->kind = kind;
	n->line = (unsigned)m->line + 1;
	n->col = (unsigned)m->column + 1;
	return n;
}

static bool yn_append(struct ld *l, ynode *parent, ynode *child)
{
	/* Maps are filled key, value, key, value: their slots are counted in len (unused for
	 * containers otherwise), pairs in n. */
	size_t slots = parent->cap;
	size_t filled = parent->kind == YN_MAP ? parent->len : parent->n;
	if (filled == slots) {
		size_t nc = slots ? 2 * slots : 8;
		ynode **ni = realloc(parent->items, nc * sizeof(*ni));
		if (!ni)
			return ld_fail(l, child, "out of memory");
		parent->items = ni;
		parent->cap = nc;
	}
	parent->items[filled] = child;
	if (parent->kind == YN_MAP) {
		parent->len++; /* slots filled; n (pairs) is set when the map closes */
		parent->n = parent->len / 2;
	} else {
		parent->n++;
	}
	return true;
}

static bool syntax_error(struct ld *l, const yaml_parser_t *p)
{
	const char *problem = p->problem ? p->problem : "unreadable input";
	unsigned line = (unsigned)p->problem_mark.line + 1, col = (unsigned)p->problem_mark.column + 1;
	if (p->error == YAML_MEMORY_ERROR)
		return ld_fail_at(l, 0, 0, "out of memory");
	if (p->context)
		return ld_fail_at(l, line, col, "YAML syntax error: %s (%s at line %u, column %u)",
			problem, p->context, (unsigned)p->context_mark.line + 1,
			(unsigned)p->context_mark.column + 1);
	return ld_fail_at(l, line, col, "YAML syntax error: %s", problem);
}

static void wipe_event(yaml_event_t *e)
{
	if (e->type == YAML_SCALAR_EVENT && e->data.scalar.value)
		ss_wipe(e->data.scalar.value, e->data.scalar.length);
	yaml_event_delete(e);
}

static void wipe_str(yaml_char_t *s)
{
	if (s)
		ss_wipe(s, strlen((const char *)s));
}

void yn_wipe_tokens(struct yaml_parser_s *p)
{
	/* Tokens scanned ahead of the parser (a simple key needs lookahead) and not yet turned
	 * into events: on a syntax error they are freed, unwiped, by yaml_parser_delete().
	 * Slots before head were handed over to events (which wipe_event() wiped). */
	for (yaml_token_t *t = p->tokens.head; t && t < p->tokens.tail; t++) {
		switch (t->type) {
		case YAML_SCALAR_TOKEN:
			if (t->data.scalar.value)
				ss_wipe(t->data.scalar.value, t->data.scalar.length);
			break;
		case YAML_ALIAS_TOKEN: wipe_str(t->data.alias.value); break;
		case YAML_ANCHOR_TOKEN: wipe_str(t->data.anchor.value); break;
		case YAML_TAG_TOKEN:
			wipe_str(t->data.tag.handle);
			wipe_str(t->data.tag.suffix);
			break;
		case YAML_TAG_DIRECTIVE_TOKEN:
			wipe_str(t->data.tag_directive.handle);
			wipe_str(t->data.tag_directive.prefix);
			break;
		default: break;
		}
	}
}

static void wipe_parser(yaml_parser_t *p)
{
	/* The parser keeps decoded copies of the input, which may hold an inline psk, and
	 * tokens it scanned ahead of an error.  (Scratch strings libyaml grows with realloc
	 * while scanning are freed inside libyaml unwiped: out of our reach; doc/policy.md
	 * recommends psk_file for that reason.) */
	yn_wipe_tokens(p);
	if (p->buffer.start)
		ss_wipe(p->buffer.start, (size_t)(p->buffer.end - p->buffer.start));
	if (p->raw_buffer.start)
		ss_wipe(p->raw_buffer.start, (size_t)(p->raw_buffer.end - p->raw_buffer.start));
	yaml_parser_delete(p);
}

/* Handles one event; *done when the stream ended. */
static bool on_event(struct ld *l, yaml_event_t *e, ynode **stack, size_t *depth, ynode **root,
	bool *done)
{
	const yaml_mark_t *m = &e->start_mark;
	ynode *top = *depth ? stack[*depth - 1] : NULL;
	ynode *n = NULL;
	switch (e->type) {
	case YAML_STREAM_START_EVENT:
	case YAML_DOCUMENT_END_EVENT:
		return true;
	case YAML_STREAM_END_EVENT:
		*done = true;
		return true;
	case YAML_DOCUMENT_START_EVENT:
		if (*root)
			return ld_fail_at(l, (unsigned)m->line + 1, (unsigned)m->column + 1,
				"only one YAML document is allowed in a policy file");
		return true;
	case YAML_ALIAS_EVENT:
		return ld_fail_at(l, (unsigned)m->line + 1, (unsigned)m->column + 1,
			"YAML aliases are not supported in policy files");
	case YAML_SCALAR_EVENT:
		n = yn_new(l, YN_SCALAR, m);
		if (!n)
			return false;
		n->len = e->data.scalar.length;
		n->str = malloc(n->len + 1);
		if (!n->str) {
			free(n);
			return ld_fail_at(l, 0, 0, "out of memory");
		}
		memcpy(n->str, e->data.scalar.value, n->len);
		n->str[n->len] = 0;
		n->plain = e->data.scalar.plain_implicit && e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		if (strlen(n->str) != n->len) {
			yn_free(n);
			return ld_fail_at(l, (unsigned)m->line + 1, (unsigned)m->column + 1,
				"NUL character in a string");
		}
		break;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if (top && top->kind == YN_MAP && top->len % 2 == 0)
			return ld_fail_at(l, (unsigned)m->line + 1, (unsigned)m->column + 1,
				"a mapping key must be a plain string");
		if (*depth == YN_MAX_DEPTH)
			return ld_fail_at(l, (unsigned)m->line + 1, (unsigned)m->column + 1,
				"nesting deeper than %d levels", YN_MAX_DEPTH);
		n = yn_new(l, e->type == YAML_MAPPING_START_EVENT ? YN_MAP : YN_SEQ, m);
		if (!n)
			return false;
		break;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		(*depth)--;
		return true;
	default:
		return true;
	}
	if (top) {
		if (!yn_append(l, top, n)) {
			yn_free(n);
			return false;
		}
	} else {
		*root = n;
	}
	if (n->kind != YN_SCALAR)
		stack[(*depth)++] = n;
	return true;
}

ynode *yn_parse(struct ld *l, const char *buf, size_t len)
{
	yaml_parser_t p;
	if (!yaml_parser_initialize(&p)) {
		ld_fail_at(l, 0, 0, "out of memory");
		return NULL;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	ynode *stack[YN_MAX_DEPTH];
	size_t depth = 0;
	ynode *root = NULL;
	bool done = false, ok = true;
	while (ok && !done) {
		yaml_event_t e;
		if (!yaml_parser_parse(&p, &e)) {
			ok = syntax_error(l, &p);
			break;
		}
		ok = on_event(l, &e, stack, &depth, &root, &done);
		wipe_event(&e);
	}
	wipe_parser(&p);
	if (!ok) {
		yn_free(root);
		return NULL;
	}
	if (!root) {
		ld_fail_at(l, 1, 1, "empty policy file: expected a mapping with rules or builtin");
		return NULL;
	}
	return root;
}
