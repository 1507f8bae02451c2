/*
 * protocol.h -- the version numbers a device and a server agree on.
 *
 * Every sync request carries two headers:
 *
 *   Fieldsync-Protocol: FS_PROTOCOL_VERSION     what the messages mean
 *   Fieldsync-Merge-Rule: FS_MERGE_RULE_VERSION  how replicas merge
 *
 * The protocol version says how push and pull behave (docs/PROTOCOL.md,
 * "Versions", lists what each version changed).  A server answers a
 * version it does not speak with 400 unsupported_protocol naming the
 * versions it does, and changes nothing; a request without the header is
 * version 1, the first release's (still served, unchanged).
 *
 * The merge-rule version names the conflict rule (common/merge.h).  Two
 * replicas that merge by different rules diverge silently, so a device
 * with another rule is refused (400 unsupported_merge_rule) instead of
 * being merged with: the device says "update fieldsync".
 */
#ifndef FS_PROTOCOL_H
#define FS_PROTOCOL_H

/* The newest protocol version; every version from 1 up to it is spoken. */
#define FS_PROTOCOL_VERSION 3
#define FS_PROTOCOL_OLDEST  1

/*
 * The merge rule of common/merge.h.  Rule 1: per field, by stamp, heads
 * other than the current write are conflicts, except a null head beside a
 * null current value; a delete wrote null to every field of its form.
 * Stores written before the null exception (0.1.0 before 9b522ee) are
 * brought to rule 1 by a schema migration on both sides
 * (MERGE_SQLITE_MIGRATE_RULE_1).  Rule 2 (issue 22): a delete writes no
 * field; it is a record-level tombstone with the stamps it saw, and an edit
 * it did not see keeps the record alive whole with one record-level
 * conflict (merge.h).  Stores of rule 1 are rebuilt under it by a schema
 * migration (server: from the changes it keeps; device: what it holds,
 * then the server's rows).  A device of rule 1 (0.4 and before, which
 * send the header) is refused: "update fieldsync".  A request without the
 * header (protocol 1, or a hand-made one) is still taken as this rule.
 */
#define FS_MERGE_RULE_VERSION 2

/*
 * The built-in form of referrals between agencies (daemon/referral.c):
 * written by headquarters only, read on devices (status, not reasons).
 * A device refuses to create, edit or delete one (FS_ERR_FORBIDDEN), and
 * the server refuses a device's change of one.
 */
#define FS_REFERRAL_FORM "referral"

#define FS_PROTOCOL_HEADER   "Fieldsync-Protocol"
#define FS_MERGE_RULE_HEADER "Fieldsync-Merge-Rule"

#endif /* FS_PROTOCOL_H */
