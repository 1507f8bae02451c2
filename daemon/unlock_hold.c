/*
 * unlock_hold.c -- sealing keys held unlocked per reviewer.  See
 * unlock_hold.h.
 */
#include "unlock_hold.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hq_key.h"

struct holder {
	char who[128];
	struct hq_unlocked *keys; /* NULL: a free slot */
	time_t until;             /* monotonic seconds */
};

struct unlock_hold {
	pthread_mutex_t mu;
	unsigned seconds;
	struct holder slot[UNLOCK_MAX_HOLDERS];
	time_t fails[UNLOCK_MAX_FAILS]; /* monotonic times of the latest failures, a ring */
	size_t nfail;                    /* failures recorded, capped at the ring's size */
	size_t next;                     /* the ring's next slot */
};

static time_t
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

struct unlock_hold *
unlock_hold_new(unsigned seconds)
{
	struct unlock_hold *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	if (pthread_mutex_init(&h->mu, NULL) != 0) {
		free(h);
		return NULL;
	}
	h->seconds = seconds;
	return h;
}

static void
slot_clear(struct holder *s)
{
	hq_unlocked_free(s->keys);
	memset(s, 0, sizeof(*s));
}

void
unlock_hold_free(struct unlock_hold *h)
{
	if (h == NULL)
		return;
	for (size_t i = 0; i < UNLOCK_MAX_HOLDERS; i++)
		slot_clear(&h->slot[i]);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

static struct holder *
find(struct unlock_hold *h, const char *who)
{
	for (size_t i = 0; i < UNLOCK_MAX_HOLDERS; i++)
		if (h->slot[i].keys != NULL && strcmp(h->slot[i].who, who) == 0)
			return &h->slot[i];
	return NULL;
}

/* Seconds until an unlock may be tried again; 0 when it may now. */
static int
retry_after(const struct unlock_hold *h, time_t now)
{
	time_t oldest;

	if (h->nfail < UNLOCK_MAX_FAILS)
		return 0;
	oldest = h->fails[h->next]; /* full ring: next is the oldest */
	if (now - oldest >= UNLOCK_FAIL_WINDOW)
		return 0;
	return (int)(UNLOCK_FAIL_WINDOW - (now - oldest));
}

fs_err
unlock_hold_unlock(struct unlock_hold *h, struct store *store, const char *who,
    const char *pass, size_t passlen, int *ret_seconds, int *ret_retry, char *ret_ids,
    size_t len)
{
	struct hq_unlocked *u = NULL;
	struct holder *s;
	fs_err err;

	*ret_seconds = 0;
	*ret_retry = 0;
	if (len > 0)
		ret_ids[0] = '\0';
	pthread_mutex_lock(&h->mu);
	*ret_retry = retry_after(h, now_s());
	pthread_mutex_unlock(&h->mu);
	if (*ret_retry > 0)
		return FS_ERR_BUSY;
	/* About half a second per stored key (Argon2id): not under the mutex. */
	err = hq_unlock(store, pass, passlen, &u);
	pthread_mutex_lock(&h->mu);
	if (err == FS_ERR_KEY) {
		h->fails[h->next] = now_s();
		h->next = (h->next + 1) % UNLOCK_MAX_FAILS;
		if (h->nfail < UNLOCK_MAX_FAILS)
			h->nfail++;
		*ret_retry = retry_after(h, now_s());
	}
	if (err != FS_OK) {
		pthread_mutex_unlock(&h->mu);
		return err;
	}
	if ((s = find(h, who)) == NULL) {
		for (size_t i = 0; i < UNLOCK_MAX_HOLDERS && s == NULL; i++)
			if (h->slot[i].keys == NULL)
				s = &h->slot[i];
	}
	if (s == NULL) { /* every slot held: the one closest to its end goes */
		s = &h->slot[0];
		for (size_t i = 1; i < UNLOCK_MAX_HOLDERS; i++)
			if (h->slot[i].until < s->until)
				s = &h->slot[i];
	}
	slot_clear(s);
	snprintf(s->who, sizeof(s->who), "%s", who);
	s->keys = u;
	s->until = now_s() + (time_t)h->seconds;
	*ret_seconds = (int)h->seconds;
	hq_unlocked_ids(u, ret_ids, len);
	pthread_mutex_unlock(&h->mu);
	return FS_OK;
}

bool
unlock_hold_lock(struct unlock_hold *h, const char *who)
{
	struct holder *s;

	pthread_mutex_lock(&h->mu);
	if ((s = find(h, who)) != NULL)
		slot_clear(s);
	pthread_mutex_unlock(&h->mu);
	return s != NULL;
}

int
unlock_hold_left(struct unlock_hold *h, const char *who)
{
	struct holder *s;
	time_t now = now_s();
	int left = 0;

	pthread_mutex_lock(&h->mu);
	if ((s = find(h, who)) != NULL && s->until > now)
		left = (int)(s->until - now);
	pthread_mutex_unlock(&h->mu);
	return left;
}

fs_err
unlock_hold_open(struct unlock_hold *h, const char *who, cJSON *tree, int *ret_opened,
    int *ret_closed)
{
	struct holder *s;
	fs_err err;

	*ret_opened = *ret_closed = 0;
	pthread_mutex_lock(&h->mu);
	if ((s = find(h, who)) == NULL || s->until <= now_s()) {
		if (s != NULL)
			slot_clear(s);
		pthread_mutex_unlock(&h->mu);
		return FS_ERR_KEY;
	}
	err = hq_open_tree(s->keys, tree, ret_opened, ret_closed);
	pthread_mutex_unlock(&h->mu);
	return err;
}

void
unlock_hold_expire(struct unlock_hold *h)
{
	time_t now = now_s();

	pthread_mutex_lock(&h->mu);
	for (size_t i = 0; i < UNLOCK_MAX_HOLDERS; i++)
		if (h->slot[i].keys != NULL && h->slot[i].until <= now)
			slot_clear(&h->slot[i]);
	pthread_mutex_unlock(&h->mu);
}
