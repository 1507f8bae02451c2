/*
 * form_internal.h -- what the three files of the form module share:
 * form.c (definitions), form_value.c (checking and typing values) and
 * form_util.c (messages and lexical checks).  Not used outside them.
 */
#ifndef FS_FORM_INTERNAL_H
#define FS_FORM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "form.h"

#define PATTERN_MAX  1024 /* bytes of a pattern's source */
#define CHOICES_MAX  1000 /* choices of one select field */
#define NUM_TEXT_MAX 64   /* bytes of a number typed as text */
#define KEY_SHOW_MAX 80   /* buffer for a key quoted in a message */

#define FORMAT(a, b) __attribute__((format(printf, a, b)))

/* Writes a message into err (errlen bytes, always terminated). */
void form_seterr(char *err, size_t errlen, const char *fmt, ...) FORMAT(3, 4);
/* "out of memory" and FS_ERR_NOMEM. */
fs_err form_nomem(char *err, size_t errlen);
/* A key from outside, made printable and cut for a message. */
const char *form_show_key(char *buf, size_t size, const char *s);
/* [a-z][a-z0-9_]*, at most FORM_NAME_MAX. */
bool form_name_valid(const char *s);
/* Well-formed UTF-8 without NUL (Unicode table 3-7). */
bool form_utf8_valid(const unsigned char *s, size_t len);
bool form_str_utf8_valid(const char *s);
bool form_is_space(char c);
/* An integral double (without libm). */
bool form_is_integral(double v);
/* Integral and within +-FORM_INT_LIMIT. */
bool form_int_in_range(double v);
/* Index of the field called name, or form->nfields. */
size_t form_field_index(const struct form *form, const char *name);
/* True if value leaves a field unanswered: absent, null, "" or []. */
bool form_value_empty(const struct form_field *f, const cJSON *v);
/* form_repeat.c: the sub-field a "repeat/row/sub" key names, or NULL. */
const struct form_field *form_repeat_find(const struct form *form, const char *key);
/* form_repeat.c: a whole record's rows (count, required sub-fields, rules). */
fs_err form_rows_check(const struct form *form, const cJSON *values, const char *today,
    char *err, size_t errlen);
/* form_repeat.c: each row's calculations and skip logic, and a non-relevant repeat emptied. */
fs_err form_rows_apply(const struct form *form, cJSON *values, const char *today);
/* form_logic.c: the fields' expressions, compiled after every field is known. */
fs_err form_logic_load(struct form *form, const cJSON *fields, char *err, size_t errlen);
void form_logic_free(struct form_field *f);

#endif /* FS_FORM_INTERNAL_H */
