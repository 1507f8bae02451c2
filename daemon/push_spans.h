/*
 * push_spans.h -- where each change of a push body lies in the bytes
 * received, so that the server stores a change exactly as the device sent
 * it (issue 12: "stored as received, the exact bytes, ready to be signed
 * and verified later").
 */
#ifndef FS_DAEMON_PUSH_SPANS_H
#define FS_DAEMON_PUSH_SPANS_H

#include <stddef.h>

struct push_span {
	const char *start; /* into the body; not NUL-terminated */
	size_t len;
};

/*
 * Finds the elements of the top-level object's "changes" array in body
 * (len bytes, strict JSON already checked by form_json_parse()).  Fills at
 * most max spans in order and sets *ret_n to the number of elements.
 * Returns 0, or -1 if the text is not the object it should be (the caller
 * then stores each change as printed from its parsed form).  Every token
 * is read by cJSON (cJSON_ParseWithLengthOpts() says where a value ends);
 * only the punctuation of the top two levels is looked at here.
 */
int push_spans(const char *body, size_t len, struct push_span *out, size_t max, size_t *ret_n);

#endif /* FS_DAEMON_PUSH_SPANS_H */
