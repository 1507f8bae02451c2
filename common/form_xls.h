/*
 * form_xls.h -- forms written the XLSForm way (issue 19, item 3): the
 * survey, choices and settings sheets of an XLSForm workbook, each saved
 * as CSV, to and from the JSON definition of schema/FORMS.md.
 *
 * survey:   type, name, label, hint, required, relevant, constraint,
 *           constraint_message, calculation, plus this project's columns
 *           sensitive, min, max, max_length, pattern, description.
 *           Types: text, integer, decimal, boolean, date, dateTime,
 *           geopoint, select_one LIST, select_multiple LIST, calculate
 *           (a text field computed by its calculation), note (skipped:
 *           no data).  `required` is yes/no, or an expression (required
 *           while it holds: required_if).  A column "label::Language" is
 *           read when there is no plain "label".  begin_group/end_group
 *           rows are headings only (their rows read as if outside);
 *           begin_repeat NAME ... end_repeat holds a repeat's sub-fields
 *           (column max_rows: its limit), not nested.  Written back, a
 *           sub-field's choice list is named REPEAT_SUB.
 * choices:  list_name, name, label (the label is not kept: a choice is
 *           its name).
 * settings: form_id, version, form_title, plus conflict, description and
 *           keep_drafts.
 *
 * CSV is RFC 4180: comma-separated, quoted cells with doubled quotes,
 * CRLF or LF; a UTF-8 byte order mark is skipped.  Column names are
 * matched without regard to case.
 */
#ifndef FS_FORM_XLS_H
#define FS_FORM_XLS_H

#include <stddef.h>

#include "fieldsync_err.h"

/*
 * Reads the sheets (settings may be NULL: then id, version and title,
 * which override the settings sheet when not NULL / not 0, are needed)
 * into a form definition, checked with form_load() before it is given:
 * *ret_json (malloc'd, the caller frees) is a definition fieldsync
 * imports as it is.  FS_ERR_FORM with "survey row 7: unknown type 'x'"
 * (or form_load()'s message) in err; FS_ERR_NOMEM.
 */
fs_err form_from_xlsform(const char *survey, const char *choices, const char *settings,
    const char *id, long long version, const char *title, char **ret_json, char *err,
    size_t errlen);

/*
 * The other way: a definition (JSON text) into the three sheets, each a
 * malloc'd CSV text the caller frees.  FS_ERR_FORM for a definition
 * form_load() refuses.
 */
fs_err form_to_xlsform(const char *json, char **ret_survey, char **ret_choices,
    char **ret_settings, char *err, size_t errlen);

#endif /* FS_FORM_XLS_H */
