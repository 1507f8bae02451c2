/*
 * store.c -- the store's public functions, dispatched at run time to the
 * backend that opened the handle (store_backend.h).  No backend is named
 * here but in store_open_kind().
 */
#include <string.h>

#include "log.h"
#include "store_backend.h"

#define OPS(p) (((const struct store_base *)(const void *)(p))->ops)

fs_err
store_open_kind(const char *kind, const char *where, struct store **ret_store)
{
	if (kind == NULL || strcmp(kind, "sqlite") == 0)
		return store_sqlite_open(where, ret_store);
#ifdef FS_HAVE_POSTGRESQL
	if (strcmp(kind, "postgresql") == 0)
		return store_pg_open(where, ret_store);
#endif
	log_warnx("Store '%s' is not built into this fieldsyncd", kind);
	return FS_ERR_INVALID;
}

fs_err
store_open(const char *data_dir, struct store **ret_store)
{
	return store_open_kind("sqlite", data_dir, ret_store);
}

void
store_close(struct store *store)
{
	if (store != NULL)
		OPS(store)->close(store);
}

fs_err
store_device_add(struct store *store, const char *name, const char *role, const char *team,
    const char *review_teams, const unsigned char token_hash[AUTH_HASH_LEN], int64_t *ret_rowid)
{
	return OPS(store)->device_add(store, name, role, team, review_teams, token_hash, ret_rowid);
}

fs_err
store_device_set_teams(struct store *store, const char *name, const char *review_teams)
{
	return OPS(store)->device_set_teams(store, name, review_teams);
}

fs_err
store_device_list(struct store *store, store_device_cb cb, void *arg)
{
	return OPS(store)->device_list(store, cb, arg);
}

fs_err
store_device_revoke(struct store *store, const char *name, bool wipe)
{
	return OPS(store)->device_revoke(store, name, wipe);
}

fs_err
store_open_conflicts(struct store *store, int64_t *ret_n)
{
	return OPS(store)->open_conflicts(store, ret_n);
}

fs_err
store_device_wipe_done(struct store *store, int64_t rowid)
{
	return OPS(store)->device_wipe_done(store, rowid);
}

fs_err
store_device_by_token_hash(struct store *store, const unsigned char token_hash[AUTH_HASH_LEN],
    struct store_token_row *ret)
{
	return OPS(store)->device_by_token_hash(store, token_hash, ret);
}

fs_err
store_device_bind_hlc(struct store *store, int64_t rowid, const char *hlc_device)
{
	return OPS(store)->device_bind_hlc(store, rowid, hlc_device);
}

fs_err
store_device_last_hlc(struct store *store, int64_t rowid, char ret_hlc[HLC_TEXT_LEN + 1])
{
	return OPS(store)->device_last_hlc(store, rowid, ret_hlc);
}

fs_err
store_form_insert(struct store *store, const char *id, int64_t version, const char *canonical,
    bool *ret_new)
{
	return OPS(store)->form_insert(store, id, version, canonical, ret_new);
}

fs_err
store_form_definition(struct store *store, const char *id, int64_t version, char **ret_json)
{
	return OPS(store)->form_definition(store, id, version, ret_json);
}

fs_err
store_form_list(struct store *store, store_form_cb cb, void *arg)
{
	return OPS(store)->form_list(store, cb, arg);
}

fs_err
store_audit(struct store *store, const char *actor, const char *action, const char *record_id,
    const char *detail)
{
	return OPS(store)->audit(store, actor, action, record_id, detail);
}

fs_err
store_push_begin(struct store *store, struct store_push **ret_push)
{
	return OPS(store)->push_begin(store, ret_push);
}

fs_err
store_batch_answer(struct store *store, const char *device, const char *batch, char **ret_answer)
{
	return OPS(store)->batch_answer(store, device, batch, ret_answer);
}

fs_err
store_push_record_head(struct store_push *push, const char *record_id,
    struct store_record_head *ret)
{
	return OPS(push)->push_record_head(push, record_id, ret);
}

fs_err
store_push_prefetch(struct store_push *push, const char *const *ids, const char *const *hlcs,
    size_t n)
{
	if (OPS(push)->push_prefetch == NULL)
		return FS_OK;
	return OPS(push)->push_prefetch(push, ids, hlcs, n);
}

fs_err
store_push_record_values(struct store_push *push, const char *record_id, cJSON **ret)
{
	return OPS(push)->push_record_values(push, record_id, ret);
}

fs_err
store_push_change_insert(struct store_push *push, const struct change *ch, const char *body,
    const char *team, const char *device, const char *batch, int64_t *ret_seq, bool *ret_dup)
{
	return OPS(push)->push_change_insert(push, ch, body, team, device, batch, ret_seq, ret_dup);
}

fs_err
store_push_record_merge(struct store_push *push, const struct form *form, const struct change *ch,
    const char *team, const char *author, int64_t seq, struct merge_result *res, int *ret_open)
{
	return OPS(push)->push_record_merge(push, form, ch, team, author, seq, res, ret_open);
}

fs_err
store_push_device_seen(struct store_push *push, const char *device, const char *stamp)
{
	return OPS(push)->push_device_seen(push, device, stamp);
}

fs_err
store_push_batch_save(struct store_push *push, const char *device, const char *batch,
    const char *answer)
{
	return OPS(push)->push_batch_save(push, device, batch, answer);
}

fs_err
store_push_record_info(struct store_push *push, const char *record_id, char ret_form[65],
    int64_t *ret_version, char ret_team[65])
{
	return OPS(push)->push_record_info(push, record_id, ret_form, ret_version, ret_team);
}

fs_err
store_push_delete_resolution(struct store_push *push, const char *record_id, bool keep,
    cJSON **ret_base, char ret_max[HLC_TEXT_LEN + 1])
{
	return OPS(push)->push_delete_resolution(push, record_id, keep, ret_base, ret_max);
}

fs_err
store_push_field_heads(struct store_push *push, const char *record_id, const char *field,
    struct store_head *heads, size_t max, size_t *ret_n, char ret_max[HLC_TEXT_LEN + 1])
{
	return OPS(push)->push_field_heads(push, record_id, field, heads, max, ret_n, ret_max);
}

fs_err
store_push_server_stamp(struct store_push *push, const char *after,
    char ret_stamp[HLC_TEXT_LEN + 1])
{
	return OPS(push)->push_server_stamp(push, after, ret_stamp);
}

fs_err
store_push_commit(struct store_push *push)
{
	return OPS(push)->push_commit(push);
}

void
store_push_abort(struct store_push *push)
{
	if (push != NULL)
		OPS(push)->push_abort(push);
}

fs_err
store_max_seq(struct store *store, int64_t *ret_seq)
{
	return OPS(store)->max_seq(store, ret_seq);
}

fs_err
store_forms_version(struct store *store, int64_t *ret_version)
{
	return OPS(store)->forms_version(store, ret_version);
}

fs_err
store_change_hlc(struct store *store, const char *team, int64_t seq, char ret_hlc[HLC_TEXT_LEN + 1])
{
	return OPS(store)->change_hlc(store, team, seq, ret_hlc);
}

fs_err
store_pull(struct store *store, const struct store_pull_query *q, store_change_cb cb, void *arg,
    struct store_pull_page *ret_page)
{
	return OPS(store)->pull(store, q, cb, arg, ret_page);
}

fs_err
store_push_review_event(struct store_push *push, const char *id, const char *field,
    const char *stamp, const char *note, const char *actor)
{
	return OPS(push)->push_event(push, id, "resolve", NULL, field, stamp, note, actor);
}

fs_err
store_push_event(struct store_push *push, const char *id, const char *kind, const char *status,
    const char *field, const char *stamp, const char *note, const char *actor)
{
	return OPS(push)->push_event(push, id, kind, status, field, stamp, note, actor);
}

fs_err
store_push_audit(struct store_push *push, const char *actor, const char *action,
    const char *record_id, const char *detail)
{
	return OPS(push)->push_audit(push, actor, action, record_id, detail);
}

fs_err
store_push_server_device(struct store_push *push, char ret_id[HLC_DEVICE_LEN + 1])
{
	return OPS(push)->push_server_device(push, ret_id);
}

fs_err
store_snapshot(struct store *store, const struct store_snapshot_query *q, store_snapshot_cb cb,
    void *arg, struct store_snapshot_page *ret_page)
{
	return OPS(store)->snapshot(store, q, cb, arg, ret_page);
}

fs_err
store_review_list(struct store *store, const struct review_filter *f, int64_t limit, int64_t offset,
    review_record_cb cb, void *arg, int64_t *ret_total)
{
	return OPS(store)->review_list(store, f, limit, offset, cb, arg, ret_total);
}

fs_err
store_review_get(struct store *store, const char *id, review_record_cb cb, void *arg)
{
	return OPS(store)->review_get(store, id, cb, arg);
}

fs_err
store_review_fields(struct store *store, const char *id, review_value_cb cb, void *arg)
{
	return OPS(store)->review_fields(store, id, cb, arg);
}

fs_err
store_review_delete_conflict(struct store *store, const char *id, review_value_cb cb, void *arg)
{
	return OPS(store)->review_delete_conflict(store, id, cb, arg);
}

fs_err
store_review_conflicts(struct store *store, const char *id, review_value_cb cb, void *arg)
{
	return OPS(store)->review_conflicts(store, id, cb, arg);
}

fs_err
store_review_history(struct store *store, const char *id, review_change_cb cb, void *arg)
{
	return OPS(store)->review_history(store, id, cb, arg);
}

fs_err
store_review_events(struct store *store, const char *id, review_event_cb cb, void *arg)
{
	return OPS(store)->review_events(store, id, cb, arg);
}

fs_err
store_review_set_status(struct store *store, const char *id, const char *status, const char *note,
    const char *actor)
{
	return OPS(store)->review_set_status(store, id, status, note, actor);
}

fs_err
store_review_assign(struct store *store, const char *id, const char *to, const char *note,
    const char *actor)
{
	return OPS(store)->review_assign(store, id, to, note, actor);
}

fs_err
store_audit_list(struct store *store, const char *since, review_audit_cb cb, void *arg)
{
	return OPS(store)->audit_list(store, since, cb, arg);
}

fs_err
store_export_open(struct store *store, const struct review_filter *f, struct store_export **ret_x)
{
	return OPS(store)->export_open(store, f, ret_x);
}

fs_err
store_export_next(struct store_export *x, struct review_record *ret_r, bool *ret_done)
{
	return OPS(x)->export_next(x, ret_r, ret_done);
}

fs_err
store_export_fields(struct store_export *x, const char *id, review_value_cb cb, void *arg)
{
	return OPS(x)->export_fields(x, id, cb, arg);
}

void
store_export_close(struct store_export *x)
{
	if (x != NULL)
		OPS(x)->export_close(x);
}

fs_err
store_push_custody(struct store_push *push, const char *device, struct store_custody *ret)
{
	return OPS(push)->push_custody(push, device, ret);
}

fs_err
store_push_custody_save(struct store_push *push, const char *device,
    const struct store_custody *c)
{
	return OPS(push)->push_custody_save(push, device, c);
}

fs_err
store_push_change_body(struct store_push *push, const char *record_id, const char *hlc,
    char **ret_body)
{
	return OPS(push)->push_change_body(push, record_id, hlc, ret_body);
}

fs_err
store_push_chain_refused(struct store_push *push, const char *device, const struct change *ch,
    const char *link, const char *reason)
{
	return OPS(push)->push_chain_refused(push, device, ch, link, reason);
}

fs_err
store_chain_walk(struct store *store, store_chain_cb cb, void *arg)
{
	return OPS(store)->chain_walk(store, cb, arg);
}

fs_err
store_device_key_reset(struct store *store, const char *name)
{
	return OPS(store)->device_key_reset(store, name);
}

fs_err
store_history_walk(struct store *store, store_history_cb cb, void *arg)
{
	return OPS(store)->history_walk(store, cb, arg);
}

fs_err
store_record_history(struct store *store, const char *record_id, store_history_cb cb, void *arg)
{
	return OPS(store)->record_history(store, record_id, cb, arg);
}

fs_err
store_device_info(struct store *store, const char *hlc_device, char ret_name[65],
    char **ret_keys)
{
	return OPS(store)->device_info(store, hlc_device, ret_name, ret_keys);
}

fs_err
store_seal_key_add(struct store *store, const char *id, const char *public_hex,
    const char *locked_json)
{
	return OPS(store)->seal_key_add(store, id, public_hex, locked_json);
}

fs_err
store_seal_keys(struct store *store, char **ret_json)
{
	return OPS(store)->seal_keys(store, ret_json);
}

fs_err
store_agency_save(struct store *store, const char *name, const char *title, const char *teams,
    bool create)
{
	return OPS(store)->agency_save(store, name, title, teams, create);
}

fs_err
store_agency_list(struct store *store, store_agency_cb cb, void *arg)
{
	return OPS(store)->agency_list(store, cb, arg);
}

fs_err
store_push_referral_save(struct store_push *push, const struct store_referral *r)
{
	return OPS(push)->push_referral_save(push, r);
}

fs_err
store_referral_list(struct store *store, const char *record_id, store_referral_cb cb, void *arg)
{
	return OPS(store)->referral_list(store, record_id, cb, arg);
}
