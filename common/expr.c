/*
 * expr.c -- the expression language of forms.  See expr.h.
 *
 * A recursive-descent parser builds the tree into a fixed array of nodes
 * (at most EXPR_MAX_NODES, children by index); evaluation walks it.  No
 * allocation happens while evaluating, so the server can evaluate for
 * every change of a push without failing halfway.
 */
#include "expr.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum op {
	OP_NUM,
	OP_STR,
	OP_FIELD,
	OP_SELF,
	OP_OR,
	OP_AND,
	OP_EQ,
	OP_NE,
	OP_LT,
	OP_LE,
	OP_GT,
	OP_GE,
	OP_ADD,
	OP_SUB,
	OP_MUL,
	OP_DIV,
	OP_MOD,
	OP_NEG,
	OP_CALL,
};

enum fn {
	FN_NOT,
	FN_SELECTED,
	FN_COUNT_SELECTED,
	FN_STRING_LENGTH,
	FN_TODAY,
	FN_IF,
	FN_TRUE,
	FN_FALSE,
};

static const struct {
	const char *name;
	enum fn fn;
	int nargs;
} functions[] = {
	{"not", FN_NOT, 1},
	{"selected", FN_SELECTED, 2},
	{"count-selected", FN_COUNT_SELECTED, 1},
	{"string-length", FN_STRING_LENGTH, 1},
	{"today", FN_TODAY, 0},
	{"if", FN_IF, 3},
	{"true", FN_TRUE, 0},
	{"false", FN_FALSE, 0},
};

#define MAX_ARGS 3

struct node {
	enum op op;
	enum fn fn;
	int kid[MAX_ARGS]; /* children by index; binary: kid[0], kid[1] */
	int nkids;
	double num;
	char *str; /* OP_STR text, OP_FIELD name */
};

struct expr {
	struct node node[EXPR_MAX_NODES];
	int n;
	int root;
};

struct parser {
	const char *s;
	size_t pos;
	int depth;
	struct expr *e;
	char *err;
	size_t errlen;
	bool failed;
};

static int parse_or(struct parser *p);

static int
fail(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->failed)
		return -1;
	p->failed = true;
	n = snprintf(p->err, p->errlen, "at %zu: ", p->pos + 1);
	if (n >= 0 && (size_t)n < p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static void
skip_ws(struct parser *p)
{
	while (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n' ||
	       p->s[p->pos] == '\r')
		p->pos++;
}

static bool
name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-';
}

/* Consumes word when it is next and is not the start of a longer name. */
static bool
accept_word(struct parser *p, const char *word)
{
	size_t n = strlen(word);

	skip_ws(p);
	if (strncmp(p->s + p->pos, word, n) != 0 || name_char(p->s[p->pos + n]))
		return false;
	p->pos += n;
	return true;
}

static bool
accept(struct parser *p, const char *sym)
{
	size_t n = strlen(sym);

	skip_ws(p);
	if (strncmp(p->s + p->pos, sym, n) != 0)
		return false;
	p->pos += n;
	return true;
}

static int
new_node(struct parser *p, enum op op)
{
	struct node *nd;

	if (p->e->n == EXPR_MAX_NODES)
		return fail(p, "more than %d parts: too long", EXPR_MAX_NODES);
	nd = &p->e->node[p->e->n];
	memset(nd, 0, sizeof(*nd));
	nd->op = op;
	return p->e->n++;
}

static int
binary(struct parser *p, enum op op, int left, int right)
{
	int i;

	if (left < 0 || right < 0 || (i = new_node(p, op)) < 0)
		return -1;
	p->e->node[i].kid[0] = left;
	p->e->node[i].kid[1] = right;
	p->e->node[i].nkids = 2;
	return i;
}

static int
enter(struct parser *p)
{
	if (++p->depth > EXPR_MAX_DEPTH)
		return fail(p, "nested more than %d deep", EXPR_MAX_DEPTH);
	return 0;
}

static int
parse_string(struct parser *p)
{
	char quote = p->s[p->pos];
	size_t start = ++p->pos;
	int i;

	while (p->s[p->pos] != '\0' && p->s[p->pos] != quote)
		p->pos++;
	if (p->s[p->pos] != quote) {
		p->pos = start - 1;
		return fail(p, "a text is not closed");
	}
	if ((i = new_node(p, OP_STR)) < 0)
		return -1;
	if ((p->e->node[i].str = strndup(p->s + start, p->pos - start)) == NULL)
		return fail(p, "out of memory");
	p->pos++;
	return i;
}

static int
parse_number(struct parser *p)
{
	const char *start = p->s + p->pos;
	char *end;
	double v;
	int i;

	while (isdigit((unsigned char)p->s[p->pos]))
		p->pos++;
	if (p->s[p->pos] == '.' && isdigit((unsigned char)p->s[p->pos + 1])) {
		p->pos++;
		while (isdigit((unsigned char)p->s[p->pos]))
			p->pos++;
	}
	v = strtod(start, &end);
	if (end != p->s + p->pos || !isfinite(v))
		return fail(p, "not a number");
	if ((i = new_node(p, OP_NUM)) < 0)
		return -1;
	p->e->node[i].num = v;
	return i;
}

static int
parse_field(struct parser *p)
{
	size_t start = p->pos;
	int i;

	if (!islower((unsigned char)p->s[p->pos]))
		return fail(p, "a field name starts with a lower-case letter");
	while (islower((unsigned char)p->s[p->pos]) || isdigit((unsigned char)p->s[p->pos]) ||
	       p->s[p->pos] == '_')
		p->pos++;
	if (p->pos - start > 64)
		return fail(p, "a field name is at most 64 characters");
	if (p->s[p->pos] != '}')
		return fail(p, "expected '}' after the field name");
	if ((i = new_node(p, OP_FIELD)) < 0)
		return -1;
	if ((p->e->node[i].str = strndup(p->s + start, p->pos - start)) == NULL)
		return fail(p, "out of memory");
	p->pos++;
	return i;
}

static int
parse_call(struct parser *p)
{
	size_t start = p->pos, len;
	int i, k = -1;

	while (name_char(p->s[p->pos]))
		p->pos++;
	len = p->pos - start;
	for (size_t f = 0; f < sizeof(functions) / sizeof(functions[0]); f++)
		if (strlen(functions[f].name) == len &&
		    strncmp(functions[f].name, p->s + start, len) == 0)
			k = (int)f;
	if (k < 0) {
		p->pos = start;
		return fail(p, "unknown function '%.*s'", (int)(len > 40 ? 40 : len), p->s + start);
	}
	if (!accept(p, "("))
		return fail(p, "expected '(' after %s", functions[k].name);
	if ((i = new_node(p, OP_CALL)) < 0)
		return -1;
	p->e->node[i].fn = functions[k].fn;
	skip_ws(p);
	if (!accept(p, ")")) {
		for (;;) {
			int a;

			if (p->e->node[i].nkids == MAX_ARGS)
				return fail(p, "%s takes %d argument(s)", functions[k].name,
				    functions[k].nargs);
			if ((a = parse_or(p)) < 0)
				return -1;
			p->e->node[i].kid[p->e->node[i].nkids++] = a;
			if (accept(p, ")"))
				break;
			if (!accept(p, ","))
				return fail(p, "expected ',' or ')'");
		}
	}
	if (p->e->node[i].nkids != functions[k].nargs)
		return fail(p, "%s takes %d argument(s), not %d", functions[k].name,
		    functions[k].nargs, p->e->node[i].nkids);
	return i;
}

static int
parse_primary(struct parser *p)
{
	int i;

	skip_ws(p);
	if (enter(p) < 0)
		return -1;
	switch (p->s[p->pos]) {
	case '\'':
	case '"':
		i = parse_string(p);
		break;
	case '$':
		if (p->s[p->pos + 1] != '{')
			return fail(p, "expected '${' before a field name");
		p->pos += 2;
		i = parse_field(p);
		break;
	case '(':
		p->pos++;
		i = parse_or(p);
		if (i >= 0 && !accept(p, ")"))
			i = fail(p, "expected ')'");
		break;
	case '.':
		p->pos++;
		i = new_node(p, OP_SELF);
		break;
	case '\0':
		return fail(p, "the expression ends too early");
	default:
		if (isdigit((unsigned char)p->s[p->pos]))
			i = parse_number(p);
		else if (isalpha((unsigned char)p->s[p->pos]))
			i = parse_call(p);
		else
			i = fail(p, "unexpected '%c'", p->s[p->pos]);
	}
	p->depth--;
	return i;
}

static int
parse_unary(struct parser *p)
{
	int i, k;

	if (accept(p, "-")) {
		if (enter(p) < 0 || (k = parse_unary(p)) < 0 || (i = new_node(p, OP_NEG)) < 0)
			return -1;
		p->depth--;
		p->e->node[i].kid[0] = k;
		p->e->node[i].nkids = 1;
		return i;
	}
	return parse_primary(p);
}

static int
parse_product(struct parser *p)
{
	int left = parse_unary(p);

	while (left >= 0) {
		if (accept(p, "*"))
			left = binary(p, OP_MUL, left, parse_unary(p));
		else if (accept_word(p, "div"))
			left = binary(p, OP_DIV, left, parse_unary(p));
		else if (accept_word(p, "mod"))
			left = binary(p, OP_MOD, left, parse_unary(p));
		else
			break;
	}
	return left;
}

static int
parse_sum(struct parser *p)
{
	int left = parse_product(p);

	while (left >= 0) {
		if (accept(p, "+"))
			left = binary(p, OP_ADD, left, parse_product(p));
		else if (accept(p, "-"))
			left = binary(p, OP_SUB, left, parse_product(p));
		else
			break;
	}
	return left;
}

static int
parse_cmp(struct parser *p)
{
	static const struct {
		const char *sym;
		enum op op;
	} cmps[] = {{"!=", OP_NE}, {"<=", OP_LE}, {">=", OP_GE}, {"=", OP_EQ}, {"<", OP_LT},
	    {">", OP_GT}};
	int left = parse_sum(p);

	if (left < 0)
		return -1;
	for (size_t i = 0; i < sizeof(cmps) / sizeof(cmps[0]); i++)
		if (accept(p, cmps[i].sym))
			return binary(p, cmps[i].op, left, parse_sum(p));
	return left;
}

static int
parse_and(struct parser *p)
{
	int left = parse_cmp(p);

	while (left >= 0 && accept_word(p, "and"))
		left = binary(p, OP_AND, left, parse_cmp(p));
	return left;
}

static int
parse_or(struct parser *p)
{
	/* Depth is counted where nesting happens: brackets, calls, unary minus. */
	int left = parse_and(p);

	while (left >= 0 && accept_word(p, "or"))
		left = binary(p, OP_OR, left, parse_and(p));
	return left;
}

fs_err
expr_parse(const char *text, struct expr **ret, char *err, size_t errlen)
{
	struct parser p = {.s = text, .err = err, .errlen = errlen};

	*ret = NULL;
	if (errlen > 0)
		err[0] = '\0';
	if (text == NULL || strlen(text) > EXPR_MAX_LEN) {
		snprintf(err, errlen, "an expression is at most %d bytes", EXPR_MAX_LEN);
		return FS_ERR_FORM;
	}
	if ((p.e = calloc(1, sizeof(*p.e))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return FS_ERR_NOMEM;
	}
	p.e->root = parse_or(&p);
	skip_ws(&p);
	if (p.e->root >= 0 && p.s[p.pos] != '\0')
		fail(&p, "unexpected '%c'", p.s[p.pos]);
	if (p.failed || p.e->root < 0) {
		expr_free(p.e);
		return FS_ERR_FORM;
	}
	*ret = p.e;
	return FS_OK;
}

void
expr_free(struct expr *e)
{
	if (e == NULL)
		return;
	for (int i = 0; i < e->n; i++)
		free(e->node[i].str);
	free(e);
}

int
expr_each_field(const struct expr *e, int (*fn)(void *arg, const char *name), void *arg)
{
	int rc;

	/* Nodes are made in the order the parser met them. */
	for (int i = 0; i < e->n; i++)
		if (e->node[i].op == OP_FIELD && (rc = fn(arg, e->node[i].str)) != 0)
			return rc;
	return 0;
}

/* --- evaluation ------------------------------------------------------- */

static void
set_empty(struct expr_value *v)
{
	v->type = EXPR_EMPTY;
	v->text[0] = '\0';
}

static void
set_bool(struct expr_value *v, bool b)
{
	v->type = EXPR_BOOL;
	v->b = b;
}

static void
set_num(struct expr_value *v, double n)
{
	if (!isfinite(n)) {
		set_empty(v);
		return;
	}
	v->type = EXPR_NUMBER;
	v->n = n;
}

static void
set_text(struct expr_value *v, const char *s)
{
	v->type = EXPR_TEXT;
	snprintf(v->text, sizeof(v->text), "%s", s);
}

static void
from_json(const cJSON *j, struct expr_value *v)
{
	size_t pos = 0;

	if (j == NULL || cJSON_IsNull(j)) {
		set_empty(v);
	} else if (cJSON_IsBool(j)) {
		set_bool(v, cJSON_IsTrue(j));
	} else if (cJSON_IsNumber(j)) {
		set_num(v, j->valuedouble);
	} else if (cJSON_IsString(j)) {
		set_text(v, j->valuestring);
	} else if (cJSON_IsArray(j)) {
		/* A select_multiple: its choices joined by spaces, as in XLSForm. */
		const cJSON *c;

		v->type = EXPR_TEXT;
		v->text[0] = '\0';
		cJSON_ArrayForEach(c, j)
		{
			int n;

			if (!cJSON_IsString(c))
				continue;
			n = snprintf(v->text + pos, sizeof(v->text) - pos, "%s%s", pos ? " " : "",
			    c->valuestring);
			if (n < 0 || (size_t)n >= sizeof(v->text) - pos)
				break;
			pos += (size_t)n;
		}
	} else {
		/* An object (a geopoint, a sealed value): nothing an expression reads. */
		set_empty(v);
	}
}

/* A value as a number; false when it is none (empty, or a text that is not one). */
static bool
as_number(const struct expr_value *v, double *ret)
{
	char *end;

	switch (v->type) {
	case EXPR_NUMBER:
		*ret = v->n;
		return true;
	case EXPR_BOOL:
		*ret = v->b ? 1 : 0;
		return true;
	case EXPR_TEXT:
		if (v->text[0] == '\0')
			return false;
		*ret = strtod(v->text, &end);
		return *end == '\0' && isfinite(*ret) && !isspace((unsigned char)v->text[0]);
	default:
		return false;
	}
}

static void
as_text(const struct expr_value *v, char *buf, size_t len)
{
	switch (v->type) {
	case EXPR_NUMBER:
		snprintf(buf, len, "%.15g", v->n);
		break;
	case EXPR_BOOL:
		snprintf(buf, len, "%s", v->b ? "true" : "false");
		break;
	case EXPR_TEXT:
		snprintf(buf, len, "%s", v->text);
		break;
	default:
		buf[0] = '\0';
	}
}

bool
expr_truthy(const struct expr_value *v)
{
	switch (v->type) {
	case EXPR_BOOL:
		return v->b;
	case EXPR_NUMBER:
		return v->n != 0;
	case EXPR_TEXT:
		return v->text[0] != '\0';
	default:
		return false;
	}
}

struct ctx {
	const struct expr *e;
	const cJSON *values, *self;
	const char *today;
};

static void eval(const struct ctx *c, int i, struct expr_value *ret);

/* -1, 0, 1; or 2 when the two do not compare (an empty beside a value). */
static int
compare(const struct expr_value *a, const struct expr_value *b)
{
	char ta[EXPR_TEXT_MAX + 1], tb[EXPR_TEXT_MAX + 1];
	double x, y;
	int r;

	if (a->type == EXPR_EMPTY || b->type == EXPR_EMPTY) {
		bool ea = a->type == EXPR_EMPTY || (a->type == EXPR_TEXT && a->text[0] == '\0');
		bool eb = b->type == EXPR_EMPTY || (b->type == EXPR_TEXT && b->text[0] == '\0');
		return ea && eb ? 0 : 2;
	}
	if (a->type != EXPR_TEXT && b->type != EXPR_TEXT && as_number(a, &x) && as_number(b, &y))
		return x < y ? -1 : x > y ? 1 : 0;
	if ((a->type == EXPR_TEXT) != (b->type == EXPR_TEXT) && as_number(a, &x) &&
	    as_number(b, &y))
		return x < y ? -1 : x > y ? 1 : 0;
	as_text(a, ta, sizeof(ta));
	as_text(b, tb, sizeof(tb));
	r = strcmp(ta, tb);
	return r < 0 ? -1 : r > 0 ? 1 : 0;
}

static bool
list_has(const char *list, const char *item)
{
	size_t n = strlen(item);
	const char *p = list;

	if (n == 0)
		return false;
	while (*p != '\0') {
		while (*p == ' ')
			p++;
		if (strncmp(p, item, n) == 0 && (p[n] == ' ' || p[n] == '\0'))
			return true;
		while (*p != '\0' && *p != ' ')
			p++;
	}
	return false;
}

static void
call(const struct ctx *c, const struct node *nd, struct expr_value *ret)
{
	struct expr_value a, b;
	char t[EXPR_TEXT_MAX + 1];
	size_t n = 0;

	switch (nd->fn) {
	case FN_NOT:
		eval(c, nd->kid[0], &a);
		set_bool(ret, !expr_truthy(&a));
		return;
	case FN_SELECTED:
		eval(c, nd->kid[0], &a);
		eval(c, nd->kid[1], &b);
		as_text(&a, t, sizeof(t));
		{
			char item[EXPR_TEXT_MAX + 1];
			as_text(&b, item, sizeof(item));
			set_bool(ret, list_has(t, item));
		}
		return;
	case FN_COUNT_SELECTED:
		eval(c, nd->kid[0], &a);
		as_text(&a, t, sizeof(t));
		for (const char *p = t; *p != '\0';) {
			while (*p == ' ')
				p++;
			if (*p != '\0')
				n++;
			while (*p != '\0' && *p != ' ')
				p++;
		}
		set_num(ret, (double)n);
		return;
	case FN_STRING_LENGTH: {
		const struct node *k = &c->e->node[nd->kid[0]];
		const cJSON *j = k->op == OP_FIELD ? cJSON_GetObjectItemCaseSensitive(c->values, k->str)
				 : k->op == OP_SELF ? c->self
						    : NULL;
		const char *s;

		/* A field's text is counted whole (a value may be longer than EXPR_TEXT_MAX). */
		if (cJSON_IsString(j)) {
			s = j->valuestring;
		} else {
			eval(c, nd->kid[0], &a);
			as_text(&a, t, sizeof(t));
			s = t;
		}
		/* Characters, not bytes: UTF-8 continuation bytes are not counted. */
		for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
			if ((*p & 0xc0) != 0x80)
				n++;
		set_num(ret, (double)n);
		return;
	}
	case FN_TODAY:
		if (c->today != NULL)
			set_text(ret, c->today);
		else
			set_empty(ret);
		return;
	case FN_IF:
		eval(c, nd->kid[0], &a);
		eval(c, expr_truthy(&a) ? nd->kid[1] : nd->kid[2], ret);
		return;
	case FN_TRUE:
		set_bool(ret, true);
		return;
	case FN_FALSE:
		set_bool(ret, false);
		return;
	}
	set_empty(ret);
}

static void
eval(const struct ctx *c, int i, struct expr_value *ret)
{
	const struct node *nd = &c->e->node[i];
	struct expr_value a, b;
	double x, y;
	int r;

	switch (nd->op) {
	case OP_NUM:
		set_num(ret, nd->num);
		return;
	case OP_STR:
		set_text(ret, nd->str);
		return;
	case OP_FIELD:
		from_json(cJSON_GetObjectItemCaseSensitive(c->values, nd->str), ret);
		return;
	case OP_SELF:
		from_json(c->self, ret);
		return;
	case OP_OR:
		eval(c, nd->kid[0], &a);
		if (expr_truthy(&a)) {
			set_bool(ret, true);
			return;
		}
		eval(c, nd->kid[1], &b);
		set_bool(ret, expr_truthy(&b));
		return;
	case OP_AND:
		eval(c, nd->kid[0], &a);
		if (!expr_truthy(&a)) {
			set_bool(ret, false);
			return;
		}
		eval(c, nd->kid[1], &b);
		set_bool(ret, expr_truthy(&b));
		return;
	case OP_EQ:
	case OP_NE:
	case OP_LT:
	case OP_LE:
	case OP_GT:
	case OP_GE:
		eval(c, nd->kid[0], &a);
		eval(c, nd->kid[1], &b);
		r = compare(&a, &b);
		switch (nd->op) {
		case OP_EQ:
			set_bool(ret, r == 0);
			break;
		case OP_NE:
			set_bool(ret, r != 0);
			break;
		case OP_LT:
			set_bool(ret, r == -1);
			break;
		case OP_LE:
			set_bool(ret, r == -1 || r == 0);
			break;
		case OP_GT:
			set_bool(ret, r == 1);
			break;
		default:
			set_bool(ret, r == 1 || r == 0);
			break;
		}
		return;
	case OP_NEG:
		eval(c, nd->kid[0], &a);
		if (as_number(&a, &x))
			set_num(ret, -x);
		else
			set_empty(ret);
		return;
	case OP_CALL:
		call(c, nd, ret);
		return;
	default:
		break;
	}
	/* Arithmetic: an operand that is no number, or a division by zero, is empty. */
	eval(c, nd->kid[0], &a);
	eval(c, nd->kid[1], &b);
	if (!as_number(&a, &x) || !as_number(&b, &y)) {
		set_empty(ret);
		return;
	}
	switch (nd->op) {
	case OP_ADD:
		set_num(ret, x + y);
		break;
	case OP_SUB:
		set_num(ret, x - y);
		break;
	case OP_MUL:
		set_num(ret, x * y);
		break;
	case OP_DIV:
		if (y == 0)
			set_empty(ret);
		else
			set_num(ret, x / y);
		break;
	case OP_MOD:
		if (y == 0)
			set_empty(ret);
		else
			set_num(ret, fmod(x, y));
		break;
	default:
		set_empty(ret);
	}
}

void
expr_eval(const struct expr *e, const cJSON *values, const cJSON *self, const char *today,
    struct expr_value *ret)
{
	struct ctx c = {.e = e, .values = values, .self = self, .today = today};

	eval(&c, e->root, ret);
}
