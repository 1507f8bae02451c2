/*
 * test-conformance.c -- the store contract as a suite any backend of
 * fieldsyncd's central store must pass (issue 13): written against the
 * store's interface only (daemon/store.h, store_records.h,
 * store_review.h), never its SQL, so the PostgreSQL store of issue 18
 * runs it unchanged: unit-conformance runs it on SQLite,
 * unit-conformance-postgresql on a throwaway PostgreSQL server.
 *
 *   idempotent batch      a batch replayed changes nothing; its answer is kept
 *   duplicates            a change in another batch is a duplicate
 *   gap-free pull         pages deliver every change of the team once, in
 *                         order, the caller's own left out, cursor at the end
 *   atomic transaction    a resolution's change, record, review event and
 *                         audit entry commit together or not at all
 *   push cursor           a push's cursor is its own last change
 *   token binding         tokens, revocation, the device id bound once
 *   restore detection     the stamp at a cursor, only within the team
 *   merge vectors         tests/vectors/merge-rule-2.json through the store
 *   snapshot              each record's row once, no echo, as_of consistent
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "auth.h"
#include "change.h"
#include "custody.h"
#include "form.h"
#include "harness.h"
#include "hlc.h"
#include "merge_row.h"
#include "store.h"
#include "store_records.h"
#include "store_review.h"
#include "store_agency.h"

static char tmpdir[] = "/tmp/fs-conformance-XXXXXX";
static int nstores;

/*
 * The backend under test (store_open_kind()): FS_STORE_KIND, "sqlite" by
 * default.  The PostgreSQL store runs this same file with its own kind.
 */
static const char *backend = "sqlite";

/*
 * With PostgreSQL (tests/pg/with-pg.sh set FS_PG_DIR): a new empty
 * database per store, its connection string into where.
 */
static void
pg_fresh_database(char *where, size_t len)
{
	char cmd[1024];
	FILE *p;

	ASSERT(getenv("FS_PG_DIR") != NULL && getenv("FS_PG_SCRIPT") != NULL);
	snprintf(cmd, sizeof(cmd), "'%s' createdb '%s' conformance%d", getenv("FS_PG_SCRIPT"),
	    getenv("FS_PG_DIR"), nstores);
	ASSERT((p = popen(cmd, "r")) != NULL);
	ASSERT(fgets(where, (int)len, p) != NULL);
	ASSERT_EQ(pclose(p), 0);
	where[strcspn(where, "\n")] = '\0';
}

static const char *const policies[] = { "field_lww", "manual", "record_lww" };

static struct store *
fresh_store(void)
{
	char dir[512], form[512], err[256];
	struct store *s;

	snprintf(dir, sizeof(dir), "%s/store%d", tmpdir, ++nstores);
	if (strcmp(backend, "postgresql") == 0)
		pg_fresh_database(dir, sizeof(dir));
	ASSERT_OK(store_open_kind(backend, dir, &s));
	for (size_t i = 0; i < sizeof(policies) / sizeof(policies[0]); i++) {
		snprintf(form, sizeof(form),
		    "{\"id\":\"v_%s\",\"version\":1,\"title\":\"v\",\"conflict\":\"%s\","
		    "\"fields\":[{\"name\":\"a\",\"type\":\"integer\"},"
		    "{\"name\":\"b\",\"type\":\"text\"},{\"name\":\"c\",\"type\":\"boolean\"}]}",
		    policies[i], policies[i]);
		ASSERT_OK(store_form_publish(s, form, strlen(form), err, sizeof(err), NULL, NULL,
		    NULL));
	}
	return s;
}

static char *
read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	long n;
	char *buf;

	ASSERT(f != NULL);
	ASSERT_EQ(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	ASSERT_EQ(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* A change object: record rec (32 hex), form v_<policy>, stamp at ms by device. */
static cJSON *
make_change(const char *rec, const char *policy, uint64_t ms, const char *device, int a)
{
	char stamp[HLC_TEXT_LEN + 1], form[32];
	cJSON *ch = cJSON_CreateObject(), *fields;

	hlc_format(hlc_pack(ms, 0), device, stamp);
	snprintf(form, sizeof(form), "v_%s", policy);
	cJSON_AddStringToObject(ch, "id", rec);
	cJSON_AddStringToObject(ch, "form", form);
	cJSON_AddNumberToObject(ch, "form_version", 1);
	cJSON_AddStringToObject(ch, "op", "upsert");
	cJSON_AddStringToObject(ch, "hlc", stamp);
	fields = cJSON_AddObjectToObject(ch, "fields");
	cJSON_AddNumberToObject(fields, "a", a);
	cJSON_AddObjectToObject(ch, "base");
	return ch;
}

struct push_out {
	int accepted, dups;
	int64_t last_seq;
};

/*
 * One batch through the store's write transaction, as daemon/sync.c
 * drives it: per change its team check, the log, the record; then the
 * answer.  Returns the outcome; the batch commits.
 */
static struct push_out
push_batch(struct store *s, const char *team, const char *device, const char *batch,
    cJSON **changes, int n)
{
	struct push_out out = { 0 };
	struct store_push *push;

	ASSERT_OK(store_push_begin(s, &push));
	for (int i = 0; i < n; i++) {
		struct merge_result res = { 0 };
		struct form *form;
		struct change ch;
		char err[256];
		struct store_record_head head;
		bool dup;
		int64_t seq;
		int open;
		char *body = cJSON_PrintUnformatted(changes[i]);

		ASSERT_OK(change_parse(changes[i], &ch, err, sizeof(err)));
		ASSERT_OK(store_form_get(s, ch.form, ch.form_version, &form));
		ASSERT_OK(change_check(&ch, form, err, sizeof(err)));
		ASSERT_OK(store_push_record_head(push, ch.id, &head));
		ASSERT(!head.exists || (strcmp(head.team, team) == 0 && strcmp(head.form, ch.form) == 0));
		ASSERT_OK(store_push_change_insert(push, &ch, body, team, device, batch, &seq, &dup));
		free(body);
		if (dup) {
			out.dups++;
		} else {
			ASSERT_OK(store_push_record_merge(push, form, &ch, team, device, seq, &res,
			    &open));
			out.accepted++;
			out.last_seq = seq;
		}
		form_free(form);
	}
	ASSERT_OK(store_push_batch_save(push, device, batch, "{\"answer\":1}"));
	ASSERT_OK(store_push_commit(push));
	return out;
}

/* --- what a record looks like through the review interface ------------- */

struct view {
	char text[4096];
	size_t len;
};

static int
view_value(void *arg, const struct review_value *v)
{
	struct view *w = arg;

	w->len += (size_t)snprintf(w->text + w->len, sizeof(w->text) - w->len, "%s %s %s %s\n",
	    v->created_at != NULL && v->created_at[0] != '\0' ? "C" : "F", v->field,
	    v->value != NULL ? v->value : "null", v->stamp);
	return 0;
}

static int
view_record(void *arg, const struct review_record *r)
{
	struct view *w = arg;

	w->len += (size_t)snprintf(w->text + w->len, sizeof(w->text) - w->len, "D %d open=%d\n",
	    r->deleted, r->open_conflicts);
	return 0;
}

static void
record_view(struct store *s, const char *id, struct view *w)
{
	w->len = 0;
	w->text[0] = '\0';
	ASSERT_OK(store_review_fields(s, id, view_value, w));
	ASSERT_OK(store_review_conflicts(s, id, view_value, w));
	ASSERT_OK(store_review_get(s, id, view_record, w));
}

static int
count_pulled(void *arg, int64_t seq, const char *body)
{
	(void)arg;
	(void)seq;
	(void)body;
	return 0;
}

static int64_t
count_changes(struct store *s)
{
	/*
	 * Counted through a pull, not store_max_seq(): a rolled-back
	 * transaction may leave a gap in the sequence (PostgreSQL's do).
	 */
	struct store_pull_query q = { .after = 0, .limit = 100000, .scan_limit = 100000 };
	struct store_pull_page page;

	ASSERT_OK(store_pull(s, &q, count_pulled, NULL, &page));
	return page.delivered;
}

/* --- the cases ---------------------------------------------------------- */

FS_TEST(conformance_idempotent_batch_and_duplicates)
{
	struct store *s = fresh_store();
	const char *rec = "000000000000000000000000000000a1";
	cJSON *b[3];
	struct view before, after;
	struct push_out o;
	char *answer = NULL;

	for (int i = 0; i < 3; i++)
		b[i] = make_change(rec, "field_lww", 1000 + (uint64_t)i, "00000000000000d1", i);
	o = push_batch(s, "north", "00000000000000d1", "batch-1", b, 3);
	ASSERT_EQ(o.accepted, 3);
	record_view(s, rec, &before);
	/* The same batch again: nothing new anywhere, its first answer kept. */
	o = push_batch(s, "north", "00000000000000d1", "batch-2", b, 3);
	ASSERT_EQ(o.accepted, 0);
	ASSERT_EQ(o.dups, 3);
	record_view(s, rec, &after);
	ASSERT_STR_EQ(after.text, before.text);
	ASSERT_EQ(count_changes(s), 3);
	ASSERT_OK(store_batch_answer(s, "00000000000000d1", "batch-1", &answer));
	ASSERT(answer != NULL);
	ASSERT_STR_EQ(answer, "{\"answer\":1}");
	free(answer);
	ASSERT_OK(store_batch_answer(s, "00000000000000d1", "batch-9", &answer));
	ASSERT(answer == NULL);
	for (int i = 0; i < 3; i++)
		cJSON_Delete(b[i]);
	store_close(s);
}

struct pulled {
	int64_t seqs[4096];
	int n;
};

static int
pull_cb(void *arg, int64_t seq, const char *body)
{
	struct pulled *p = arg;

	ASSERT(body != NULL && body[0] == '{');
	ASSERT(p->n < 4096);
	p->seqs[p->n++] = seq;
	return 0;
}

FS_TEST(conformance_gap_free_pull_without_echo)
{
	struct store *s = fresh_store();
	struct pulled got = { .n = 0 };
	int64_t want[4096], cursor = 0;
	int nwant = 0, pages = 0;
	char rec[33];

	/* 3 devices of north, 1 of south; 4 batches of 150 changes each, interleaved. */
	for (int round = 0; round < 4; round++) {
		static const char *const devs[] = { "00000000000000d1", "00000000000000d2",
			"00000000000000d3", "00000000000000e1" };
		for (int d = 0; d < 4; d++) {
			cJSON *b[150];
			char batch[32];
			struct push_out o;

			for (int i = 0; i < 150; i++) {
				snprintf(rec, sizeof(rec), "%08x%08x%016x", d, round, i);
				b[i] = make_change(rec, "field_lww",
				    (uint64_t)(100000 + round * 1000 + i), devs[d], i);
			}
			snprintf(batch, sizeof(batch), "b-%d-%d", round, d);
			o = push_batch(s, d == 3 ? "south" : "north", devs[d], batch, b, 150);
			ASSERT_EQ(o.accepted, 150);
			/* The push's cursor is its own last change, not the log's maximum. */
			ASSERT_EQ(o.last_seq, count_changes(s));
			for (int i = 0; i < 150; i++) {
				if (d == 1 || d == 2)
					want[nwant++] = o.last_seq - 149 + i;
				cJSON_Delete(b[i]);
			}
		}
	}
	/* North pulled by d1: d2's and d3's changes, each once, in order. */
	for (;;) {
		struct store_pull_query q = { .team = "north", .skip_device = "00000000000000d1",
			.after = cursor, .limit = 100, .scan_limit = 250 };
		struct store_pull_page page;

		ASSERT_OK(store_pull(s, &q, pull_cb, &got, &page));
		ASSERT(page.next >= cursor);
		ASSERT(page.delivered <= 100);
		cursor = page.next;
		pages++;
		if (!page.more)
			break;
		ASSERT(pages < 100);
	}
	ASSERT_EQ(got.n, nwant);
	for (int i = 0; i < nwant; i++)
		ASSERT_EQ(got.seqs[i], want[i]);
	ASSERT_EQ(cursor, count_changes(s) - 150); /* south's last batch is past north's */
	store_close(s);
}

static int
count_audit(void *arg, const struct review_audit *a)
{
	(void)a;
	(*(int *)arg)++;
	return 0;
}

static int
count_events(void *arg, const struct review_event *e)
{
	(void)e;
	(*(int *)arg)++;
	return 0;
}

static int
count_referral(void *arg, const struct store_referral *r)
{
	(void)r;
	(*(int *)arg)++;
	return 0;
}

static int
count_referrals(struct store *s, const char *rec)
{
	int n = 0;

	ASSERT_OK(store_referral_list(s, rec, count_referral, &n));
	return n;
}

/* A resolution-shaped transaction; commits when commit is true, else aborts. */
static void
resolution_tx(struct store *s, const char *rec, bool commit)
{
	cJSON *ch = make_change(rec, "field_lww", 9000, "00000000000000ff", 42);
	struct merge_result res = { 0 };
	struct store_push *push;
	struct form *form;
	struct change c;
	char err[256], dev[HLC_DEVICE_LEN + 1], *body = cJSON_PrintUnformatted(ch);
	int64_t seq;
	bool dup;
	int open;

	ASSERT_OK(change_parse(ch, &c, err, sizeof(err)));
	ASSERT_OK(store_form_get(s, c.form, 1, &form));
	ASSERT_OK(store_push_begin(s, &push));
	ASSERT_OK(store_push_server_device(push, dev));
	ASSERT(hlc_valid_device(dev));
	ASSERT_OK(store_push_change_insert(push, &c, body, "north", dev, "review", &seq, &dup));
	ASSERT(!dup);
	ASSERT_OK(store_push_record_merge(push, form, &c, "north", "hq", seq, &res, &open));
	ASSERT_OK(store_push_review_event(push, rec, "a", c.hlc, "note", "hq"));
	ASSERT_OK(store_push_audit(push, "hq", "review.resolve", rec, "field=a"));
	{
		struct store_referral r = { .id = "000000000000000000000000000000f1", .record_id = rec,
			.agency = "hs", .status = "open", .case_number = "hs-1", .created_by = "hq" };
		ASSERT_OK(store_push_referral_save(push, &r));
	}
	ASSERT_OK(store_push_event(push, rec, "referral", "hs:open", NULL, NULL, NULL, "hq"));
	if (commit)
		ASSERT_OK(store_push_commit(push));
	else
		store_push_abort(push);
	free(body);
	form_free(form);
	cJSON_Delete(ch);
}

FS_TEST(conformance_transaction_is_atomic)
{
	struct store *s = fresh_store();
	const char *rec = "000000000000000000000000000000b1";
	cJSON *b = make_change(rec, "field_lww", 1000, "00000000000000d1", 1);
	struct view before, after;
	int audit0 = 0, audit1 = 0, ev = 0;

	push_batch(s, "north", "00000000000000d1", "b1", &b, 1);
	cJSON_Delete(b);
	record_view(s, rec, &before);
	ASSERT_OK(store_audit_list(s, NULL, count_audit, &audit0));
	resolution_tx(s, rec, false);
	record_view(s, rec, &after);
	ASSERT_STR_EQ(after.text, before.text);
	ASSERT_OK(store_audit_list(s, NULL, count_audit, &audit1));
	ASSERT_EQ(audit1, audit0);
	ASSERT_OK(store_review_events(s, rec, count_events, &ev));
	ASSERT_EQ(ev, 0);
	ASSERT_EQ(count_changes(s), 1);
	ASSERT_EQ(count_referrals(s, NULL), 0);
	/* Committed: every part of it is there. */
	resolution_tx(s, rec, true);
	record_view(s, rec, &after);
	ASSERT_CONTAINS(after.text, "F a 42 ");
	audit1 = 0;
	ASSERT_OK(store_audit_list(s, NULL, count_audit, &audit1));
	ASSERT_EQ(audit1, audit0 + 1);
	ASSERT_OK(store_review_events(s, rec, count_events, &ev));
	ASSERT_EQ(ev, 2);
	ASSERT_EQ(count_changes(s), 2);
	ASSERT_EQ(count_referrals(s, rec), 1);
	store_close(s);
}

static int
agency_text(void *arg, const struct store_agency *a)
{
	char *buf = arg;
	size_t len = strlen(buf);

	snprintf(buf + len, 512 - len, "%s|%s|%s;", a->name, a->title, a->teams);
	return 0;
}

static int
referral_text(void *arg, const struct store_referral *r)
{
	char *buf = arg;
	size_t len = strlen(buf);

	snprintf(buf + len, 1024 - len, "%s %s %s %s %s %s %s %s;", r->id, r->record_id, r->agency,
	    r->status, r->case_number, r->owner ? r->owner : "-", r->due ? r->due : "-",
	    r->created_by);
	return 0;
}

/* Agencies and the referral index (issue 20), the same on every backend. */
FS_TEST(conformance_agencies_and_referrals)
{
	struct store *s = fresh_store();
	char buf[1024] = "";
	struct store_push *push;
	struct store_referral r = { .id = "000000000000000000000000000000a1",
		.record_id = "000000000000000000000000000000b1", .agency = "hs", .status = "open",
		.case_number = "hs-2026-000000", .created_by = "rl" };

	ASSERT_OK(store_agency_save(s, "labour", "Labour Department", "[\"north\"]", true));
	ASSERT_OK(store_agency_save(s, "hs", "Human Services", "[\"hs\"]", true));
	ASSERT_EQ(store_agency_save(s, "hs", "Again", "[]", true), FS_ERR_EXISTS);
	ASSERT_EQ(store_agency_save(s, "nosuch", "X", "[]", false), FS_ERR_NOTFOUND);
	ASSERT_OK(store_agency_save(s, "labour", "Labour Department", "[\"north\",\"south\"]", false));
	ASSERT_OK(store_agency_list(s, agency_text, buf));
	ASSERT_STR_EQ(buf, "hs|Human Services|[\"hs\"];labour|Labour Department|[\"north\",\"south\"];");

	ASSERT_OK(store_push_begin(s, &push));
	ASSERT_OK(store_push_referral_save(push, &r));
	ASSERT_OK(store_push_commit(push));
	/* An update keeps who made it; status, owner and due change. */
	r.status = "accepted";
	r.owner = "rh2";
	r.due = "2026-12-31";
	r.created_by = "someone-else";
	ASSERT_OK(store_push_begin(s, &push));
	ASSERT_OK(store_push_referral_save(push, &r));
	ASSERT_OK(store_push_commit(push));
	buf[0] = '\0';
	ASSERT_OK(store_referral_list(s, NULL, referral_text, buf));
	ASSERT_STR_EQ(buf, "000000000000000000000000000000a1 000000000000000000000000000000b1 hs accepted"
	                   " hs-2026-000000 rh2 2026-12-31 rl;");
	buf[0] = '\0';
	ASSERT_OK(store_referral_list(s, "000000000000000000000000000000c9", referral_text, buf));
	ASSERT_STR_EQ(buf, "");
	store_close(s);
}

FS_TEST(conformance_token_binding)
{
	struct store *s = fresh_store();
	unsigned char h1[AUTH_HASH_LEN], h2[AUTH_HASH_LEN], h3[AUTH_HASH_LEN];
	char t1[AUTH_TOKEN_LEN + 1], t2[AUTH_TOKEN_LEN + 1], t3[AUTH_TOKEN_LEN + 1];
	struct store_token_row row;
	struct auth_identity who;
	int64_t r1, r2;

	ASSERT_OK(auth_token_new(t1, h1));
	ASSERT_OK(auth_token_new(t2, h2));
	ASSERT_OK(auth_token_new(t3, h3));
	ASSERT_OK(store_device_add(s, "one", "field", "north", NULL, h1, &r1));
	ASSERT_OK(store_device_add(s, "two", "field", "north", NULL, h2, &r2));
	ASSERT_EQ(store_device_add(s, "one", "field", "north", NULL, h3, NULL), FS_ERR_EXISTS);
	ASSERT_EQ(store_device_add(s, "three", "boss", "north", NULL, h3, NULL), FS_ERR_INVALID);
	ASSERT_EQ(store_device_by_token_hash(s, h3, &row), FS_ERR_NOTFOUND);
	ASSERT_OK(store_device_by_token_hash(s, h1, &row));
	ASSERT_EQ(memcmp(row.token_hash, h1, AUTH_HASH_LEN), 0);
	ASSERT(!row.revoked);
	ASSERT_OK(auth_identify(s, h1, &who));
	ASSERT_STR_EQ(who.name, "one");
	ASSERT_STR_EQ(who.team, "north");
	ASSERT_STR_EQ(who.hlc_device, "");
	/* The device id binds on first use, once. */
	ASSERT_OK(store_device_bind_hlc(s, r1, "00000000000000d1"));
	ASSERT_OK(store_device_bind_hlc(s, r1, "00000000000000d1"));
	ASSERT_EQ(store_device_bind_hlc(s, r1, "00000000000000d9"), FS_ERR_FORBIDDEN);
	ASSERT_EQ(store_device_bind_hlc(s, r2, "00000000000000d1"), FS_ERR_EXISTS);
	ASSERT_EQ(store_device_bind_hlc(s, r2, "not-an-id"), FS_ERR_INVALID);
	ASSERT_OK(auth_identify(s, h1, &who));
	ASSERT_STR_EQ(who.hlc_device, "00000000000000d1");
	ASSERT_OK(store_device_revoke(s, "one", false));
	ASSERT_OK(store_device_by_token_hash(s, h1, &row));
	ASSERT(row.revoked);
	ASSERT_EQ(auth_identify(s, h1, &who), FS_ERR_AUTH);
	ASSERT_EQ(store_device_revoke(s, "nobody", false), FS_ERR_NOTFOUND);
	store_close(s);
}

/* Reviewers scoped to teams (issue 15): stored, read back with the token, changed. */
FS_TEST(conformance_reviewer_teams)
{
	struct store *s = fresh_store();
	unsigned char h1[AUTH_HASH_LEN], h2[AUTH_HASH_LEN], h3[AUTH_HASH_LEN];
	char t[AUTH_TOKEN_LEN + 1], teams[AUTH_TEAMS_TEXT_MAX + 1];
	const char *two[] = { "north", "south" }, *dup[] = { "north", "north" };
	const char *bad[] = { "north", "no rth" };
	struct auth_identity rev, all, field;

	ASSERT_OK(auth_teams_text(two, 2, teams));
	ASSERT_STR_EQ(teams, "[\"north\",\"south\"]");
	ASSERT_EQ(auth_teams_text(dup, 2, teams), FS_ERR_INVALID);
	ASSERT_EQ(auth_teams_text(bad, 2, teams), FS_ERR_INVALID);
	ASSERT_EQ(auth_teams_text(two, 0, teams), FS_ERR_INVALID);
	ASSERT_OK(auth_teams_text(two, 2, teams));
	ASSERT_OK(auth_token_new(t, h1));
	ASSERT_OK(auth_token_new(t, h2));
	ASSERT_OK(auth_token_new(t, h3));
	ASSERT_OK(store_device_add(s, "rev", "reviewer", "north", teams, h1, NULL));
	ASSERT_OK(store_device_add(s, "all", "reviewer", "hq", NULL, h2, NULL));
	ASSERT_OK(store_device_add(s, "dev", "field", "east", NULL, h3, NULL));
	ASSERT_OK(auth_identify(s, h1, &rev));
	ASSERT_OK(auth_identify(s, h2, &all));
	ASSERT_OK(auth_identify(s, h3, &field));
	ASSERT_STR_EQ(auth_review_scope(&rev), teams);
	ASSERT(auth_review_scope(&all) == NULL);
	ASSERT_STR_EQ(auth_review_scope(&field), "[]");
	ASSERT(auth_sees_team(&rev, "south") && auth_sees_team(&rev, "north"));
	ASSERT(!auth_sees_team(&rev, "east") && !auth_sees_team(&rev, "sout"));
	ASSERT(auth_sees_team(&all, "east"));
	ASSERT(!auth_sees_team(&field, "east"));
	/* Narrowed, then widened again; only a reviewer's teams can change. */
	ASSERT_OK(store_device_set_teams(s, "all", "[\"east\"]"));
	ASSERT_OK(auth_identify(s, h2, &all));
	ASSERT(auth_sees_team(&all, "east") && !auth_sees_team(&all, "north"));
	ASSERT_OK(store_device_set_teams(s, "rev", NULL));
	ASSERT_OK(auth_identify(s, h1, &rev));
	ASSERT(auth_review_scope(&rev) == NULL && auth_sees_team(&rev, "east"));
	ASSERT_EQ(store_device_set_teams(s, "dev", "[\"north\"]"), FS_ERR_INVALID);
	ASSERT_EQ(store_device_set_teams(s, "nobody", NULL), FS_ERR_NOTFOUND);
	store_close(s);
}

/* --- chain of custody (issue 16): keys, heads, refused links, walks ---- */

struct walked {
	int changes, refused, audit, history;
	char last_key[200];
};

static int
walk_chain(void *arg, const struct store_chain_row *r)
{
	struct walked *w = arg;

	if (r->body != NULL)
		w->changes++;
	else
		w->refused++;
	snprintf(w->last_key, sizeof(w->last_key), "%s", r->keys);
	return 0;
}

static int
walk_history(void *arg, const struct store_history_row *r)
{
	struct walked *w = arg;
	unsigned char h[CUSTODY_LINK_LEN];

	ASSERT(r->hash != NULL && r->prev != NULL && r->ref_found);
	custody_history_hash(r->prev, r->kind, r->nitems, r->items, r->lens, h);
	ASSERT_EQ(memcmp(h, r->hash, sizeof(h)), 0); /* the backend hashes what it returns */
	if (strcmp(r->kind, "audit") == 0)
		w->audit++;
	else
		w->history++;
	return 0;
}

FS_TEST(conformance_custody)
{
	struct store *s = fresh_store();
	unsigned char th[AUTH_HASH_LEN];
	char tok[AUTH_TOKEN_LEN + 1], name[65], *keys = NULL, *body = NULL, msg[128];
	const char *dev = "00000000000000c1";
	struct store_custody c;
	struct store_push *push;
	struct walked w = { 0 };
	struct change ch;
	cJSON *changes[2];
	int64_t rowid;

	ASSERT_OK(auth_token_new(tok, th));
	ASSERT_OK(store_device_add(s, "signer", "field", "north", NULL, th, &rowid));
	ASSERT_OK(store_device_bind_hlc(s, rowid, dev));
	/* Nothing registered: no key, the genesis head. */
	ASSERT_OK(store_push_begin(s, &push));
	ASSERT_OK(store_push_custody(push, dev, &c));
	ASSERT_STR_EQ(c.key, "");
	ASSERT_STR_EQ(c.head, custody_genesis);
	ASSERT_STR_EQ(c.hlc, "");
	memset(c.key, 'a', 64);
	c.key[64] = '\0';
	c.key_new = true;
	memset(c.head, 'b', 64);
	snprintf(c.hlc, sizeof(c.hlc), "0000000000010000-%s", dev);
	ASSERT_OK(store_push_custody_save(push, dev, &c));
	ASSERT_OK(store_push_commit(push));
	ASSERT_OK(store_push_begin(s, &push));
	ASSERT_OK(store_push_custody(push, dev, &c));
	ASSERT_EQ(c.key[0], 'a');
	ASSERT_EQ(c.head[0], 'b');
	/* A refused change keeps its link, not its values. */
	changes[0] = make_change("0000000000000000000000000000c0c1", "field_lww", 5, dev, 1);
	cJSON_AddStringToObject(changes[0], "prev", custody_genesis);
	ASSERT_OK(change_parse(changes[0], &ch, msg, sizeof(msg)));
	ASSERT_OK(store_push_chain_refused(push, dev, &ch, c.head, "unknown_form"));
	ASSERT_OK(store_push_commit(push));
	cJSON_Delete(changes[0]);
	/* A stored change's bytes come back for the replay check. */
	changes[0] = make_change("0000000000000000000000000000c0c2", "field_lww", 6, dev, 2);
	changes[1] = make_change("0000000000000000000000000000c0c2", "field_lww", 7, dev, 3);
	push_batch(s, "north", dev, "custody-1", changes, 2);
	ASSERT_OK(store_push_begin(s, &push));
	ASSERT_OK(change_parse(changes[0], &ch, msg, sizeof(msg)));
	ASSERT_OK(store_push_change_body(push, ch.id, ch.hlc, &body));
	ASSERT(body != NULL && strstr(body, ch.hlc) != NULL);
	free(body);
	ASSERT_OK(store_push_change_body(push, ch.id, "0000000000990000-00000000000000c1", &body));
	ASSERT(body == NULL);
	store_push_abort(push);
	cJSON_Delete(changes[0]);
	cJSON_Delete(changes[1]);
	/* The walks: the device's links, and the history chains, each hashed right. */
	ASSERT_OK(store_chain_walk(s, walk_chain, &w));
	ASSERT_EQ(w.changes, 2);
	ASSERT_EQ(w.refused, 1);
	ASSERT_EQ(strspn(w.last_key, "a"), (size_t)64);
	ASSERT_OK(store_audit(s, "test", "custody.test", NULL, "x"));
	ASSERT_OK(store_history_walk(s, walk_history, &w));
	ASSERT_EQ(w.history, 2);
	ASSERT(w.audit >= 1);
	ASSERT_OK(store_device_info(s, dev, name, &keys));
	ASSERT_STR_EQ(name, "signer");
	ASSERT_EQ(strspn(keys, "a"), (size_t)64);
	free(keys);
	/* A reset forgets the key and head, keeps the key history. */
	ASSERT_OK(store_device_key_reset(s, "signer"));
	ASSERT_EQ(store_device_key_reset(s, "nobody"), FS_ERR_NOTFOUND);
	ASSERT_OK(store_push_begin(s, &push));
	ASSERT_OK(store_push_custody(push, dev, &c));
	ASSERT_STR_EQ(c.key, "");
	ASSERT_STR_EQ(c.head, custody_genesis);
	store_push_abort(push);
	ASSERT_OK(store_device_info(s, dev, name, &keys));
	ASSERT_EQ(strlen(keys), (size_t)64);
	free(keys);
	store_close(s);
}

FS_TEST(conformance_restore_detection)
{
	struct store *s = fresh_store();
	cJSON *n = make_change("000000000000000000000000000000c1", "field_lww", 5000,
	    "00000000000000d1", 1);
	cJSON *x = make_change("000000000000000000000000000000c2", "field_lww", 6000,
	    "00000000000000e1", 2);
	char hlc[HLC_TEXT_LEN + 1], last[HLC_TEXT_LEN + 1];
	struct store_push *push;

	push_batch(s, "north", "00000000000000d1", "b1", &n, 1);
	push_batch(s, "south", "00000000000000e1", "b2", &x, 1);
	ASSERT_OK(store_change_hlc(s, "north", 1, hlc));
	ASSERT_STR_EQ(hlc, cJSON_GetObjectItemCaseSensitive(n, "hlc")->valuestring);
	/* Another team's stamp never leaks through a cursor. */
	ASSERT_OK(store_change_hlc(s, "north", 2, hlc));
	ASSERT_STR_EQ(hlc, "");
	ASSERT_OK(store_change_hlc(s, NULL, 2, hlc));
	ASSERT_STR_EQ(hlc, cJSON_GetObjectItemCaseSensitive(x, "hlc")->valuestring);
	ASSERT_OK(store_change_hlc(s, "north", 99, hlc));
	ASSERT_STR_EQ(hlc, "");
	/* The newest stamp of a device, for the clone check. */
	{
		unsigned char h[AUTH_HASH_LEN];
		char t[AUTH_TOKEN_LEN + 1];
		int64_t row;

		ASSERT_OK(auth_token_new(t, h));
		ASSERT_OK(store_device_add(s, "d1", "field", "north", NULL, h, &row));
		ASSERT_OK(store_device_bind_hlc(s, row, "00000000000000d1"));
		ASSERT_OK(store_push_begin(s, &push));
		ASSERT_OK(store_push_device_seen(push, "00000000000000d1",
		    cJSON_GetObjectItemCaseSensitive(n, "hlc")->valuestring));
		ASSERT_OK(store_push_device_seen(push, "00000000000000d1",
		    "0000000000010000-00000000000000d1"));
		ASSERT_OK(store_push_commit(push));
		ASSERT_OK(store_device_last_hlc(s, row, last));
		ASSERT_STR_EQ(last, cJSON_GetObjectItemCaseSensitive(n, "hlc")->valuestring);
	}
	cJSON_Delete(n);
	cJSON_Delete(x);
	store_close(s);
}

/* The vector's expected fields, as record_view() prints them. */
static void
vector_view(const cJSON *v, struct view *w)
{
	const cJSON *f;

	w->len = 0;
	w->text[0] = '\0';
	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(v, "fields"))
	{
		char *value = cJSON_PrintUnformatted(cJSON_GetArrayItem(f, 0));
		w->len += (size_t)snprintf(w->text + w->len, sizeof(w->text) - w->len,
		    "F %s %s %s\n", f->string, value, cJSON_GetArrayItem(f, 1)->valuestring);
		free(value);
	}
}

/* Lines of kind k (F or C), sorted, with conflict values blanked. */
static void
view_lines(const char *text, char kind, char *out, size_t len)
{
	char copy[4096], *save = NULL, *line, *lines[128];
	size_t n = 0, pos = 0;

	snprintf(copy, sizeof(copy), "%s", text);
	for (line = strtok_r(copy, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
		if (line[0] == kind && n < 128)
			lines[n++] = line;
	for (size_t i = 1; i < n; i++)
		for (size_t k = i; k > 0 && strcmp(lines[k - 1], lines[k]) > 0; k--) {
			char *t = lines[k];
			lines[k] = lines[k - 1];
			lines[k - 1] = t;
		}
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		char name[64], value[256], stamp[64];

		if (kind == 'C' && sscanf(lines[i], "C %63s %255s %63s", name, value, stamp) == 3)
			pos += (size_t)snprintf(out + pos, len - pos, "C %s %s\n", name, stamp);
		else
			pos += (size_t)snprintf(out + pos, len - pos, "%s\n", lines[i]);
	}
}

FS_TEST(conformance_merge_vectors)
{
	struct store *s = fresh_store();
	char path[4096], *text;
	const char *root = getenv("FS_SOURCE_ROOT");
	const cJSON *v, *c;
	cJSON *doc;
	int k = 0;

	ASSERT(root != NULL);
	snprintf(path, sizeof(path), "%s/tests/vectors/merge-rule-2.json", root);
	text = read_file(path);
	ASSERT((doc = cJSON_Parse(text)) != NULL);
	free(text);
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(doc, "vectors"))
	{
		const char *policy = cJSON_GetObjectItemCaseSensitive(v, "policy")->valuestring;
		struct view want, got;
		char fw[4096], fg[4096], cw[4096], cg[4096];

		vector_view(v, &want);
		/* In the file's order and reversed: two records of the store. */
		for (int dir = 0; dir < 2; dir++) {
			cJSON *changes[8];
			char rec[33], form[32], batch[32];
			int n = 0;

			snprintf(rec, sizeof(rec), "%030x%02x", k, dir);
			snprintf(form, sizeof(form), "v_%s", policy);
			cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(v, "changes"))
			{
				cJSON *ch = cJSON_Duplicate(c, 1);
				cJSON_AddStringToObject(ch, "id", rec);
				cJSON_AddStringToObject(ch, "form", form);
				cJSON_AddNumberToObject(ch, "form_version", 1);
				if (cJSON_GetObjectItemCaseSensitive(ch, "base") == NULL)
					cJSON_AddObjectToObject(ch, "base");
				changes[n++] = ch;
			}
			for (int i = 0; i < n; i++) {
				cJSON *one = changes[dir ? n - 1 - i : i];
				char dev[HLC_DEVICE_LEN + 1];
				uint64_t ts;

				ASSERT_OK(hlc_parse(cJSON_GetObjectItemCaseSensitive(one, "hlc")->valuestring,
				    &ts, dev));
				snprintf(batch, sizeof(batch), "v%d-%d-%d", k, dir, i);
				push_batch(s, "north", dev, batch, &one, 1);
			}
			record_view(s, rec, &got);
			view_lines(want.text, 'F', fw, sizeof(fw));
			view_lines(got.text, 'F', fg, sizeof(fg));
			if (strcmp(fw, fg) != 0)
				FS_FAIL_AT("vector '%s' (%s): fields\n%swant\n%s",
				    cJSON_GetObjectItemCaseSensitive(v, "name")->valuestring,
				    dir ? "reversed" : "in order", fg, fw);
			{
				const cJSON *cf, *st;
				size_t pos = 0;
				char tmp[4096];

				tmp[0] = '\0';
				cJSON_ArrayForEach(cf, cJSON_GetObjectItemCaseSensitive(v, "conflicts"))
					cJSON_ArrayForEach(st, cf)
						pos += (size_t)snprintf(tmp + pos, sizeof(tmp) - pos,
						    "C %s ? %s\n", cf->string, st->valuestring);
				view_lines(tmp, 'C', cw, sizeof(cw));
			}
			view_lines(got.text, 'C', cg, sizeof(cg));
			if (strcmp(cw, cg) != 0)
				FS_FAIL_AT("vector '%s' (%s): conflicts\n%swant\n%s",
				    cJSON_GetObjectItemCaseSensitive(v, "name")->valuestring,
				    dir ? "reversed" : "in order", cg, cw);
			ASSERT_CONTAINS(got.text,
			    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "deleted")) ? "D 1 "
											 : "D 0 ");
			/* open_conflicts: the fields' and merge rule 2's record-level one. */
			{
				char open[32];
				int nc = 0;
				const cJSON *cf;

				cJSON_ArrayForEach(cf, cJSON_GetObjectItemCaseSensitive(v, "conflicts"))
					nc += cJSON_GetArraySize(cf);
				snprintf(open, sizeof(open), " open=%d\n",
				    nc + (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v,
					      "delete_conflict"))
						 ? 1
						 : 0));
				ASSERT_CONTAINS(got.text, open);
			}
			for (int i = 0; i < n; i++)
				cJSON_Delete(changes[i]);
		}
		k++;
	}
	cJSON_Delete(doc);
	ASSERT(k >= 10);
	store_close(s);
}

struct snap {
	int rows;
	char ids[64][33];
};

static int
snap_cb(void *arg, const struct store_snapshot_row *row)
{
	struct snap *sn = arg;
	struct merge_mem mm;

	/* Every row is a state the rule can load. */
	merge_mem_init(&mm, false);
	ASSERT_OK(merge_row_load(&mm, row->id, row->state, strlen(row->state)));
	merge_mem_finish(&mm);
	ASSERT(sn->rows < 64);
	snprintf(sn->ids[sn->rows++], 33, "%s", row->id);
	return 0;
}

FS_TEST(conformance_snapshot)
{
	struct store *s = fresh_store();
	cJSON *b[6];
	struct snap all = { 0 }, noecho = { 0 }, south = { 0 };
	struct store_snapshot_page page;
	struct store_snapshot_query q = { .team = "north", .limit = 2 };
	int64_t after = 0;

	/* d1 makes 3 records; d2 edits the second; south has its own. */
	for (int i = 0; i < 3; i++) {
		char rec[33];
		snprintf(rec, sizeof(rec), "%032x", 0xd00 + i);
		b[i] = make_change(rec, "field_lww", 1000 + (uint64_t)i, "00000000000000d1", i);
	}
	push_batch(s, "north", "00000000000000d1", "s1", b, 3);
	b[3] = make_change(cJSON_GetObjectItemCaseSensitive(b[1], "id")->valuestring, "field_lww",
	    2000, "00000000000000d2", 7);
	push_batch(s, "north", "00000000000000d2", "s2", &b[3], 1);
	b[4] = make_change("0000000000000000000000000000e001", "field_lww", 3000,
	    "00000000000000e1", 9);
	push_batch(s, "south", "00000000000000e1", "s3", &b[4], 1);
	do {
		q.after = after;
		ASSERT_OK(store_snapshot(s, &q, snap_cb, &all, &page));
		ASSERT_EQ(page.as_of, 4); /* north's newest change */
		ASSERT_STR_EQ(page.as_of_hlc, cJSON_GetObjectItemCaseSensitive(b[3], "hlc")->valuestring);
		after = page.next;
	} while (page.more);
	ASSERT_EQ(all.rows, 3);
	/* No echo: d1 is sent only the record d2 touched. */
	q.skip_device = "00000000000000d1";
	q.after = 0;
	q.limit = 100;
	ASSERT_OK(store_snapshot(s, &q, snap_cb, &noecho, &page));
	ASSERT_EQ(noecho.rows, 1);
	ASSERT_STR_EQ(noecho.ids[0], cJSON_GetObjectItemCaseSensitive(b[1], "id")->valuestring);
	q.team = "south";
	q.skip_device = NULL;
	ASSERT_OK(store_snapshot(s, &q, snap_cb, &south, &page));
	ASSERT_EQ(south.rows, 1);
	ASSERT_EQ(page.as_of, 5);
	for (int i = 0; i < 5; i++)
		cJSON_Delete(b[i]);
	store_close(s);
}

int
main(void)
{
	ASSERT(mkdtemp(tmpdir) != NULL);
	if (getenv("FS_STORE_KIND") != NULL)
		backend = getenv("FS_STORE_KIND");
	fprintf(stderr, "store backend: %s\n", backend);
	FS_RUN(conformance_idempotent_batch_and_duplicates);
	FS_RUN(conformance_gap_free_pull_without_echo);
	FS_RUN(conformance_transaction_is_atomic);
	FS_RUN(conformance_token_binding);
	FS_RUN(conformance_agencies_and_referrals);
	FS_RUN(conformance_reviewer_teams);
	FS_RUN(conformance_restore_detection);
	FS_RUN(conformance_merge_vectors);
	FS_RUN(conformance_snapshot);
	FS_RUN(conformance_custody);
	{
		char cmd[600];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
	FS_TEST_DONE();
}
