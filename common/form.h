/*
 * form.h -- form definitions: loading, checking and validating values.
 *
 * A form definition is JSON (schema/FORMS.md).  form_load() parses and checks
 * one, refusing a broken definition with a message that names the field and
 * the problem.  form_validate() checks a record's values against it and names
 * the field and the rule a value broke.  Messages never contain field values
 * (records are about possible victims; messages end up in logs).
 *
 * This module does not store forms or know about records; it is pure and
 * shared by the device library and the daemon.
 */
#ifndef FS_FORM_H
#define FS_FORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "fieldsync_err.h"

enum form_type {
	FORM_TEXT,
	FORM_INTEGER,
	FORM_DECIMAL,
	FORM_BOOLEAN,
	FORM_DATE,
	FORM_DATETIME,
	FORM_SELECT_ONE,
	FORM_SELECT_MULTIPLE,
	FORM_GEOPOINT,
	FORM_REPEAT, /* rows of sub-fields (form_repeat.c) */
};

enum form_conflict {
	FORM_CONFLICT_FIELD_LWW, /* default */
	FORM_CONFLICT_RECORD_LWW,
	FORM_CONFLICT_MANUAL,
};

/* Integers must fit a double exactly so JSON round trips are lossless. */
#define FORM_INT_LIMIT 9007199254740991LL /* 2^53 - 1 */
/* Default cap on text values when the field sets no max_length. */
#define FORM_TEXT_DEFAULT_MAX 65536
#define FORM_NAME_MAX 64
#define FORM_MAX_FIELDS 512
/*
 * A repeat's values are stored under keys "repeat/row/sub" (form_repeat.c):
 * row is the row's id, 1 to FORM_ROW_MAX of [a-z0-9], made at random by
 * the device that adds the row, so rows added offline on two devices never
 * collide and every (row, sub-field) merges on its own, like a field.
 */
#define FORM_ROW_MAX 32
#define FORM_KEY_MAX (2 * FORM_NAME_MAX + FORM_ROW_MAX + 2)
#define FORM_ROWS_DEFAULT_MAX 50
#define FORM_ROWS_LIMIT 500

struct expr;

struct form_field {
	char *name;          /* [a-z][a-z0-9_]*, at most FORM_NAME_MAX */
	char *label;         /* may be NULL */
	enum form_type type;
	bool required;
	bool sensitive;
	bool has_min, has_max;
	double min, max;     /* integer/decimal: value; text: unused; date: unused */
	int64_t max_length;  /* text; 0 = FORM_TEXT_DEFAULT_MAX */
	char *pattern;       /* POSIX extended regex source, or NULL */
	void *regex;         /* compiled regex_t *, private */
	char **choices;      /* select_one / select_multiple, NULL otherwise */
	size_t nchoices;
	/* Rules between fields (issue 19; common/form_logic.c), NULL when absent. */
	struct expr *relevant, *constraint, *required_if, *calculate;
	char *constraint_message;
	/* FORM_REPEAT: the sub-fields, as a form of their own (id: the field's name). */
	struct form *rows;
	int64_t max_rows;    /* FORM_REPEAT: rows with a value, at most */
};

struct form {
	char *id;            /* [a-z][a-z0-9_]* */
	int64_t version;     /* >= 1 */
	char *title;
	enum form_conflict conflict;
	/*
	 * Issue 17: the recording device keeps its plain copies of sealed
	 * values after the server acknowledged them (default: removed then).
	 */
	bool keep_drafts;
	struct form_field *fields;
	size_t nfields;
	size_t *order;       /* field indices, each after the fields its expressions read */
	char *json;          /* canonical JSON text of the definition (cJSON_PrintUnformatted) */
	int nesting;         /* 0; 1 for the sub-form of a repeat's rows (no json then) */
};

/*
 * Parses and checks a definition.  On success *ret_form is owned by the
 * caller (form_free()).  On failure returns FS_ERR_JSON or FS_ERR_FORM and
 * writes a message such as "field 'age': min is greater than max" into
 * err (errlen bytes, always NUL-terminated).
 */
fs_err form_load(const char *json, size_t len, struct form **ret_form, char *err,
    size_t errlen);

/* Frees a form.  Accepts NULL. */
void form_free(struct form *form);

/*
 * The field a value key names, or NULL: a field's name, or a repeat's
 * "repeat/row/sub" (then the sub-field of the repeat's rows).
 */
const struct form_field *form_field_find(const struct form *form, const char *name);

/* The parts of a repeat's value key "repeat/row/sub". */
struct form_key {
	char repeat[FORM_NAME_MAX + 1];
	char row[FORM_ROW_MAX + 1];
	char sub[FORM_NAME_MAX + 1];
};

/* True when key has the shape "repeat/row/sub" (names and row id valid). */
bool form_key_split(const char *key, struct form_key *ret);
/* 1 to FORM_ROW_MAX bytes of [a-z0-9]. */
bool form_row_id_valid(const char *s);
/*
 * Calls fn once for every row of repeat field f that values holds (a row
 * with at least one key, null or not), in the order first seen; stops and
 * returns fn's value when it is not 0.
 */
int form_rows_each(const struct form_field *f, const cJSON *values,
    int (*fn)(void *arg, const char *row), void *arg);
/*
 * The values of one row, as an object keyed by sub-field name (the
 * caller's: cJSON_Delete), NULL when out of memory.
 */
cJSON *form_row_values(const struct form_field *f, const cJSON *values, const char *row);

const char *form_type_name(enum form_type type);
const char *form_conflict_name(enum form_conflict policy);

/*
 * Checks one value of a field.  value may be NULL or cJSON null (unset),
 * which is accepted here (required is checked by form_validate()).
 * Returns FS_OK or FS_ERR_INVALID with a message like
 * "field 'workers': rule 'min' (must be at least 0)".
 */
fs_err form_check_value(const struct form_field *field, const cJSON *value, char *err,
    size_t errlen);

/*
 * Validates a values object.
 * If complete is true, values is the whole record: every required field
 * must be present and non-null.  If false it is a partial change: only the
 * fields present are checked.  Unknown field names are refused in both modes.
 * Returns FS_OK, FS_ERR_INVALID (message names field and rule) or
 * FS_ERR_JSON when values is not an object.
 */
/*
 * A calendar date YYYY-MM-DD that exists (proleptic Gregorian: no
 * 2026-02-30, no month 13), and an RFC 3339 date-time with upper-case T,
 * hours 00-23, minutes and seconds 00-59, 1 to 9 fraction digits and Z or
 * an offset.  What a form's date fields accept, and every date read
 * anywhere else (review filters, --since).
 */
bool form_date_valid(const char *s);
bool form_datetime_valid(const char *s);

fs_err form_validate(const struct form *form, const cJSON *values, bool complete, char *err,
    size_t errlen);

/*
 * Skip logic, constraints and calculations (issue 19, common/form_logic.c;
 * schema/FORMS.md).  today is the UTC date, "YYYY-MM-DD" (form_today()).
 *
 * form_apply_logic(): what a device does to a whole record's values before
 * it saves them: every calculated field computed, every field whose
 * `relevant` is false set to null.  values is changed in place.
 *
 * form_check_logic(): a whole record obeys the rules (a non-relevant field
 * empty, required / required_if fields of relevant questions set,
 * constraints hold); form_validate() with complete calls it.
 *
 * form_check_relevant(): the server's check of a change: each non-empty
 * value of fields is relevant on record (the stored values with the
 * change's laid over them).
 *
 * The checks return FS_OK or FS_ERR_INVALID with "field 'x': rule
 * 'relevant' (...)"; apply FS_ERR_NOMEM at worst.
 */
void form_today(char buf[11]);
bool form_has_logic(const struct form *form);
bool form_field_relevant(const struct form_field *f, const cJSON *values, const char *today);
fs_err form_apply_logic(const struct form *form, cJSON *values, const char *today);
fs_err form_check_logic(const struct form *form, const cJSON *values, const char *today,
    char *err, size_t errlen);
fs_err form_check_relevant(const struct form *form, const cJSON *record, const cJSON *fields,
    const char *today, char *err, size_t errlen);

/*
 * A repeat's value key "repeat/row/sub" applies on values (the record with
 * the change laid over): the repeat is relevant, and the sub-field is
 * within its row.  True for any other key.
 */
bool form_key_relevant(const struct form *form, const char *key, const cJSON *values,
    const char *today);

/*
 * The rows of repeat f in a whole record's values: not more than max_rows,
 * none while the repeat does not apply, at least one when it is required,
 * each row's sub-fields valid and its rules holding.  *ret_rows (may be
 * NULL) is the number of rows with an answer.  FS_OK or FS_ERR_INVALID
 * with "field 'f', row 'r': ..." in err.
 */
fs_err form_repeat_check(const struct form_field *f, const cJSON *values, const char *today,
    int64_t *ret_rows, char *err, size_t errlen);

/* Required now: relevant, and required or its required_if holding. */
bool form_field_required(const struct form_field *f, const cJSON *values, const char *today);
/* One field of a whole record: its value's own rules and the rules between fields. */
fs_err form_check_field(const struct form_field *f, const cJSON *values, const char *today,
    char *err, size_t errlen);

/*
 * Converts text typed by a user into a JSON value for field (see
 * schema/FORMS.md, "Text input"): integers and decimals as numbers,
 * booleans from true/false/yes/no/1/0, select_multiple from a
 * comma-separated list, geopoint from "lat,lon[,alt[,acc]]", others as
 * strings.  An empty text gives cJSON null.  The value is not validated
 * against the field's rules beyond its type.  On success *ret_value is owned
 * by the caller (cJSON_Delete).  FS_ERR_INVALID with a message naming the
 * field and the expected type otherwise.
 */
fs_err form_value_from_text(const struct form_field *field, const char *text,
    cJSON **ret_value, char *err, size_t errlen);

/*
 * Parses JSON text strictly, for definitions and for values objects: the
 * len bytes must hold one JSON value with only white space around it, no
 * NUL byte and no \u0000 escape (cJSON would silently cut the string there,
 * so the "no NUL" rule for text could not be checked afterwards).  Uses
 * cJSON_ParseWithLengthOpts, so no global error state.  what names the text
 * in the message ("form", "values").  On success *ret_json is owned by the
 * caller (cJSON_Delete()); FS_ERR_JSON with a message otherwise.
 */
fs_err form_json_parse(const char *json, size_t len, const char *what, cJSON **ret_json,
    char *err, size_t errlen);

#endif /* FS_FORM_H */
