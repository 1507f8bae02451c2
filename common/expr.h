/*
 * expr.h -- the expression language of forms (issue 19, item 1): a small,
 * documented subset of XLSForm's, parsed once when a form is loaded and
 * evaluated by the same code on the device and on the server.
 *
 *   expr     := or
 *   or       := and ( "or" and )*
 *   and      := cmp ( "and" cmp )*
 *   cmp      := sum ( ( "=" | "!=" | "<" | "<=" | ">" | ">=" ) sum )?
 *   sum      := product ( ( "+" | "-" ) product )*
 *   product  := unary ( ( "*" | "div" | "mod" ) unary )*
 *   unary    := "-" unary | primary
 *   primary  := NUMBER | STRING | "${" NAME "}" | "." | CALL | "(" expr ")"
 *   CALL     := NAME "(" [ expr ( "," expr )* ] ")"
 *
 * Functions: not(x), selected(list, 'choice'), count-selected(list),
 * string-length(x), today(), if(cond, then, else), true(), false().
 * Strings are in single or double quotes (no escapes: XLSForm has none).
 * "." is the field the expression belongs to (a constraint's own value).
 *
 * Values: empty, number, text, boolean; a select_multiple is its choices
 * joined by spaces, as in XLSForm.  An unset field is empty.  Empty
 * compares equal to '' and to nothing else; arithmetic with an empty
 * operand, or a division or modulo by zero, is empty; a comparison of a
 * number with a text compares them as texts.  Truth: false, 0, '' and
 * empty are false; everything else is true.  Dates ('2026-12-06') are
 * texts, and texts of the same shape compare in date order.
 *
 * Limits, refused at parse with the position: 4096 bytes, 64 levels of
 * nesting, 256 nodes.
 */
#ifndef FS_EXPR_H
#define FS_EXPR_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "fieldsync_err.h"

#define EXPR_MAX_LEN   4096
#define EXPR_MAX_DEPTH 64
#define EXPR_MAX_NODES 256
#define EXPR_TEXT_MAX  1024 /* longest text value an evaluation builds */

struct expr;

enum expr_type {
	EXPR_EMPTY,
	EXPR_BOOL,
	EXPR_NUMBER,
	EXPR_TEXT,
};

struct expr_value {
	enum expr_type type;
	bool b;
	double n;
	char text[EXPR_TEXT_MAX + 1];
};

/*
 * Parses text.  On success *ret is the caller's (expr_free()).  On
 * failure FS_ERR_FORM and err (errlen bytes) says what is wrong and at
 * which byte, e.g. "at 12: expected ')'".
 */
fs_err expr_parse(const char *text, struct expr **ret, char *err, size_t errlen);

/* Frees a parsed expression.  Accepts NULL. */
void expr_free(struct expr *e);

/*
 * Calls fn for every field the expression names (${name}), in order,
 * repeats included; stops and returns fn's value when it is not 0.
 */
int expr_each_field(const struct expr *e, int (*fn)(void *arg, const char *name), void *arg);

/*
 * Evaluates e.  values is a JSON object of field values (a record's, or a
 * change's merged into it); self is the value "." stands for (may be
 * NULL: empty); today is "YYYY-MM-DD" for today().  Never fails: every
 * error of types or arithmetic is an empty value.
 */
void expr_eval(const struct expr *e, const cJSON *values, const cJSON *self, const char *today,
    struct expr_value *ret);

/* The truth of a value (see above). */
bool expr_truthy(const struct expr_value *v);

#endif /* FS_EXPR_H */
