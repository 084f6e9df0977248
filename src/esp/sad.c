/* The SA database: SAs by (SPI, direction) in a chained hash, lifetimes (their deadlines in a
 * heap: a tick costs the SAs due, not all of them), expiry events. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/secure.h"
#include "esp/sa.h"
#include "esp/wire.h"

struct ss_esp_sad {
	ss_esp_sa **buckets;
	size_t nbuckets;          /* power of two */
	size_t count;
	ss_esp_sa *all;           /* every SA */
	ss_esp_sa **heap;         /* SAs with a time limit ahead, earliest first (binary min-heap) */
	size_t hn, hcap;
	ss_esp_sa *qhead, *qtail; /* SAs with undrained events, oldest first */
	ss_esp_counters ctr;      /* packets with no SA */
};

static const char *const result_names[SS_ESP_E_COUNT] = {
	[SS_ESP_OK] = "ok",
	[SS_ESP_E_NOSA] = "no-sa",
	[SS_ESP_E_REPLAY] = "replay",
	[SS_ESP_E_AUTH] = "auth",
	[SS_ESP_E_MALFORMED] = "malformed",
	[SS_ESP_E_PAD] = "pad",
	[SS_ESP_E_SELECTOR] = "selector",
	[SS_ESP_E_DUMMY] = "dummy",
	[SS_ESP_E_EXPIRED] = "expired",
	[SS_ESP_E_NOROOM] = "no-room",
	[SS_ESP_E_UNSUPPORTED] = "unsupported",
	[SS_ESP_E_CRYPTO] = "crypto",
	[SS_ESP_E_ECN] = "ecn",
};

const char *ss_esp_result_name(int r)
{
	return r >= 0 && r < SS_ESP_E_COUNT ? result_names[r] : "?";
}

static size_t bucket(const ss_esp_sad *sad, uint32_t spi, int dir)
{
	uint64_t h = ((uint64_t)spi << 1 | (unsigned)dir) * 0x9e3779b97f4a7c15ULL;
	return (size_t)(h >> 32) & (sad->nbuckets - 1);
}

/* ---- the deadline heap ---- */

static void hset(ss_esp_sad *sad, size_t i, ss_esp_sa *sa)
{
	sad->heap[i] = sa;
	sa->hpos = i + 1;
}

static void sift_up(ss_esp_sad *sad, size_t i)
{
	ss_esp_sa *sa = sad->heap[i];
	while (i > 0 && sad->heap[(i - 1) / 2]->hkey > sa->hkey) {
		hset(sad, i, sad->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	hset(sad, i, sa);
}

static void sift_down(ss_esp_sad *sad, size_t i)
{
	ss_esp_sa *sa = sad->heap[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= sad->hn)
			break;
		if (c + 1 < sad->hn && sad->heap[c + 1]->hkey < sad->heap[c]->hkey)
			c++;
		if (sad->heap[c]->hkey >= sa->hkey)
			break;
		hset(sad, i, sad->heap[c]);
		i = c;
	}
	hset(sad, i, sa);
}

static void heap_remove(ss_esp_sad *sad, ss_esp_sa *sa)
{
	if (!sa->hpos)
		return;
	size_t i = sa->hpos - 1;
	sa->hpos = 0;
	ss_esp_sa *last = sad->heap[--sad->hn];
	if (i == sad->hn)
		return;
	hset(sad, i, last);
	sift_up(sad, i);
	sift_down(sad, last->hpos - 1);
}

/* The SA's next time limit: soft until reported, then hard; none once dead. */
static ss_time next_deadline(const ss_esp_sa *sa)
{
	if (sa->dead)
		return SS_NEVER;
	return sa->reported & SS_SA_SOFT ? sa->hard_at : ss_time_min(sa->soft_at, sa->hard_at);
}

/* (Re)files sa under its next deadline; false only when the heap could not grow. */
static bool heap_file(ss_esp_sad *sad, ss_esp_sa *sa)
{
	ss_time at = next_deadline(sa);
	if (at == SS_NEVER) {
		heap_remove(sad, sa);
		return true;
	}
	if (!sa->hpos) {
		if (sad->hn == sad->hcap) {
			size_t cap = sad->hcap ? 2 * sad->hcap : 64;
			ss_esp_sa **h = realloc(sad->heap, cap * sizeof(*h));
			if (!h)
				return false;
			sad->heap = h;
			sad->hcap = cap;
		}
		sa->hkey = at;
		hset(sad, sad->hn++, sa);
		sift_up(sad, sa->hpos - 1);
		return true;
	}
	/* Deadlines only move later (soft reported, then dead). */
	sa->hkey = at;
	sift_down(sad, sa->hpos - 1);
	return true;
}

ss_esp_sad *ss_esp_sad_new(void)
{
	ss_esp_sad *sad = calloc(1, sizeof(*sad));
	if (!sad)
		return NULL;
	sad->nbuckets = 64;
	sad->buckets = calloc(sad->nbuckets, sizeof(*sad->buckets));
	if (!sad->buckets) {
		free(sad);
		return NULL;
	}
	return sad;
}

/* An outbound SA has no replay window (sa.h keeps it last for this): 1 KiB less per SA,
 * which counts with 100k CHILD SAs in one softsad (issue 14). */
static size_t sa_size(int dir)
{
	return dir == SS_ESP_IN ? sizeof(ss_esp_sa) : offsetof(ss_esp_sa, replay);
}

static void sa_destroy(ss_esp_sa *sa)
{
	ss_esp_crypto_free(&sa->cr);
	ss_free_secret(sa, sa_size(sa->p.dir));
}

void ss_esp_sad_free(ss_esp_sad *sad)
{
	if (!sad)
		return;
	for (ss_esp_sa *sa = sad->all, *next; sa; sa = next) {
		next = sa->next;
		sa_destroy(sa);
	}
	free(sad->heap);
	free(sad->buckets);
	free(sad);
}

static void grow(ss_esp_sad *sad)
{
	size_t n = sad->nbuckets * 2;
	ss_esp_sa **b = calloc(n, sizeof(*b));
	if (!b)
		return; /* longer chains, still correct */
	ss_esp_sa **old = sad->buckets;
	size_t oldn = sad->nbuckets;
	sad->buckets = b;
	sad->nbuckets = n;
	for (size_t i = 0; i < oldn; i++) {
		for (ss_esp_sa *sa = old[i], *next; sa; sa = next) {
			next = sa->hnext;
			size_t k = bucket(sad, sa->p.spi, sa->p.dir);
			sa->hnext = b[k];
			b[k] = sa;
		}
	}
	free(old);
}

static bool valid_ts(const ss_esp_ts *ts, unsigned n)
{
	if (n > SS_ESP_MAX_TS)
		return false;
	for (unsigned i = 0; i < n; i++) {
		if (ts[i].lo.family == SS_AF_NONE || ts[i].lo.family != ts[i].hi.family ||
		    ss_addr_cmp(&ts[i].lo, &ts[i].hi) > 0 || ts[i].port_lo > ts[i].port_hi)
			return false;
	}
	return true;
}

static const char *check_params(const ss_esp_params *p)
{
	if (p->spi < SS_ESP_SPI_MIN)
		return "SPI 0-255 is reserved (RFC 4303 §2.1)";
	if (p->dir > SS_ESP_OUT || p->mode > SS_ESP_TUNNEL)
		return "bad direction or mode";
	if (p->mode == SS_ESP_TUNNEL &&
	    (p->local.family == SS_AF_NONE || p->local.family != p->remote.family))
		return "tunnel mode needs outer addresses of one family";
	if ((p->udp_local_port == 0) != (p->udp_remote_port == 0))
		return "UDP encapsulation needs both ports";
	if (p->udp_local_port && p->local.family != p->remote.family)
		return "UDP encapsulation needs outer addresses";
	if (!valid_ts(p->local_ts, p->n_local_ts) || !valid_ts(p->remote_ts, p->n_remote_ts))
		return "bad traffic selector";
	const ss_esp_lifetime *l = &p->life;
	if ((l->hard_seconds && l->soft_seconds > l->hard_seconds) ||
	    (l->hard_bytes && l->soft_bytes > l->hard_bytes))
		return "soft lifetime beyond hard lifetime";
	return NULL;
}

static ss_time after(ss_time now, uint64_t seconds)
{
	if (!seconds)
		return SS_NEVER;
	if (seconds > (SS_NEVER - now) / 1000)
		return SS_NEVER;
	return now + SS_SEC(seconds);
}

ss_esp_sa *ss_esp_sad_add(ss_esp_sad *sad, const ss_esp_params *p, ss_time now, const char **why)
{
	const char *dummy;
	if (!why)
		why = &dummy;
	if ((*why = check_params(p)))
		return NULL;
	/* An inbound SPI is ours and unique; an outbound one is the peer's choice, unique only
	 * per peer (two of 100k peers pick the same about once): the caller tells them apart. */
	if (p->dir == SS_ESP_IN && ss_esp_sad_find(sad, p->spi, p->dir))
		return *why = "an SA with this SPI and direction exists", NULL;
	ss_esp_sa *sa = calloc(1, sa_size(p->dir));
	if (!sa)
		return *why = "out of memory", NULL;
	if (!ss_esp_crypto_init(&sa->cr, p, why)) {
		free(sa);
		return NULL;
	}
	sa->p = *p;
	sa->p.encr_key = sa->p.integ_key = NULL;
	sa->p.encr_key_len = sa->p.integ_key_len = 0;
	sa->seq_max = p->esn ? SS_ESP_SEQ_MAX_64 : SS_ESP_SEQ_MAX_32;
	/* Ask for a rekey with 1/16 of the sequence space left: at 1 Mpps that is still
	 * 4.5 minutes without ESN. */
	sa->seq_soft = sa->seq_max - (sa->seq_max >> 4);
	sa->soft_at = after(now, p->life.soft_seconds);
	sa->hard_at = after(now, p->life.hard_seconds);
	if (p->dir == SS_ESP_IN)
		ss_replay_init(&sa->replay, p->esn);
	sa->sad = sad;
	size_t k = bucket(sad, p->spi, p->dir);
	sa->hnext = sad->buckets[k];
	sad->buckets[k] = sa;
	sa->next = sad->all;
	if (sad->all)
		sad->all->prev = sa;
	sad->all = sa;
	if (++sad->count > sad->nbuckets)
		grow(sad);
	if (!heap_file(sad, sa)) {
		ss_esp_sad_del(sad, sa);
		return *why = "out of memory", NULL;
	}
	return sa;
}

static void unqueue(ss_esp_sad *sad, ss_esp_sa *sa)
{
	ss_esp_sa *prev = NULL;
	for (ss_esp_sa *q = sad->qhead; q; prev = q, q = q->qnext) {
		if (q != sa)
			continue;
		if (prev)
			prev->qnext = q->qnext;
		else
			sad->qhead = q->qnext;
		if (sad->qtail == sa)
			sad->qtail = prev;
		break;
	}
}

void ss_esp_sad_del(ss_esp_sad *sad, ss_esp_sa *sa)
{
	if (!sa)
		return;
	for (ss_esp_sa **pp = &sad->buckets[bucket(sad, sa->p.spi, sa->p.dir)]; *pp; pp = &(*pp)->hnext) {
		if (*pp == sa) {
			*pp = sa->hnext;
			break;
		}
	}
	if (sa->prev)
		sa->prev->next = sa->next;
	else
		sad->all = sa->next;
	if (sa->next)
		sa->next->prev = sa->prev;
	if (sa->queued)
		unqueue(sad, sa);
	heap_remove(sad, sa);
	sad->count--;
	sa_destroy(sa);
}

ss_esp_sa *ss_esp_sad_find(const ss_esp_sad *sad, uint32_t spi, int dir)
{
	for (ss_esp_sa *sa = sad->buckets[bucket(sad, spi, dir)]; sa; sa = sa->hnext)
		if (sa->p.spi == spi && sa->p.dir == dir)
			return sa;
	return NULL;
}

ss_esp_sa *ss_esp_sad_lookup_in(const ss_esp_sad *sad, uint32_t spi)
{
	return ss_esp_sad_find(sad, spi, SS_ESP_IN);
}

size_t ss_esp_sad_count(const ss_esp_sad *sad) { return sad->count; }
const ss_esp_counters *ss_esp_sad_counters(const ss_esp_sad *sad) { return &sad->ctr; }
ss_esp_counters *ss_esp_sad_ctr(ss_esp_sad *sad) { return &sad->ctr; }

void ss_esp_sa_expire(ss_esp_sa *sa, int kind, int reason)
{
	if (kind == SS_SA_HARD)
		sa->dead = true;
	if (sa->reported & kind)
		return;
	sa->reported |= (uint8_t)kind;
	sa->reason[kind] = (uint8_t)reason;
	sa->pending |= (uint8_t)kind;
	if (!sa->queued) {
		ss_esp_sad *sad = sa->sad;
		sa->queued = true;
		sa->qnext = NULL;
		if (sad->qtail)
			sad->qtail->qnext = sa;
		else
			sad->qhead = sa;
		sad->qtail = sa;
	}
}

void ss_esp_sa_account(ss_esp_sa *sa, size_t inner_len)
{
	sa->ctr.packets++;
	sa->ctr.bytes += inner_len;
	sa->bytes += inner_len;
	const ss_esp_lifetime *l = &sa->p.life;
	if (l->hard_bytes && sa->bytes >= l->hard_bytes)
		ss_esp_sa_expire(sa, SS_SA_HARD, SS_ESP_WHY_BYTES);
	else if (l->soft_bytes && sa->bytes >= l->soft_bytes)
		ss_esp_sa_expire(sa, SS_SA_SOFT, SS_ESP_WHY_BYTES);
}

void ss_esp_sa_check_time(ss_esp_sa *sa, ss_time now)
{
	if (sa->dead)
		return;
	if (now >= sa->hard_at)
		ss_esp_sa_expire(sa, SS_SA_HARD, SS_ESP_WHY_TIME);
	else if (now >= sa->soft_at && !(sa->reported & SS_SA_SOFT))
		ss_esp_sa_expire(sa, SS_SA_SOFT, SS_ESP_WHY_TIME);
}

ss_time ss_esp_sad_tick(ss_esp_sad *sad, ss_time now)
{
	/* Only the SAs due: a key may be early (the datapath reported a limit first), never
	 * late, so an early one is just filed again. */
	while (sad->hn && sad->heap[0]->hkey <= now) {
		ss_esp_sa *sa = sad->heap[0];
		ss_esp_sa_check_time(sa, now);
		heap_file(sad, sa); /* later or gone: never needs to grow */
	}
	return sad->hn ? sad->heap[0]->hkey : SS_NEVER;
}

size_t ss_esp_sad_events(ss_esp_sad *sad, ss_esp_event *out, size_t max)
{
	size_t n = 0;
	while (sad->qhead && n < max) {
		ss_esp_sa *sa = sad->qhead;
		for (int kind = SS_SA_SOFT; kind <= SS_SA_HARD && n < max; kind++) {
			if (!(sa->pending & kind))
				continue;
			sa->pending &= (uint8_t)~kind;
			out[n++] = (ss_esp_event){ .kind = (uint8_t)kind, .reason = sa->reason[kind],
				.dir = sa->p.dir, .spi = sa->p.spi, .user = sa->p.user };
		}
		if (sa->pending)
			break; /* out of room */
		sa->queued = false;
		sad->qhead = sa->qnext;
		if (!sad->qhead)
			sad->qtail = NULL;
	}
	return n;
}

uint32_t ss_esp_sa_spi(const ss_esp_sa *sa) { return sa->p.spi; }
int ss_esp_sa_dir(const ss_esp_sa *sa) { return sa->p.dir; }
void *ss_esp_sa_user(const ss_esp_sa *sa) { return sa->p.user; }
const ss_esp_counters *ss_esp_sa_counters(const ss_esp_sa *sa) { return &sa->ctr; }
bool ss_esp_sa_dead(const ss_esp_sa *sa) { return sa->dead; }
const ss_esp_params *ss_esp_sa_params(const ss_esp_sa *sa) { return &sa->p; }

void ss_esp_sa_lifetime(const ss_esp_sa *sa, ss_time *soft_at, ss_time *hard_at, uint64_t *bytes)
{
	*soft_at = sa->soft_at;
	*hard_at = sa->hard_at;
	*bytes = sa->bytes;
}

uint64_t ss_esp_sa_seq(const ss_esp_sa *sa)
{
	return sa->p.dir == SS_ESP_OUT ? sa->seq : sa->replay.top;
}

void ss_esp_sa_set_test_iv(ss_esp_sa *sa, const uint8_t iv[16])
{
	sa->cr.test_iv = iv;
}

size_t ss_esp_sa_overhead(const ss_esp_sa *sa, size_t inner_len)
{
	size_t outer = 0;
	if (sa->p.mode == SS_ESP_TUNNEL)
		outer = sa->p.local.family == SS_AF_INET6 ? SS_IPV6_HDR_LEN : SS_IPV4_HDR_LEN;
	if (sa->p.udp_local_port)
		outer += SS_UDP_HDR_LEN;
	size_t blk = sa->cr.block;
	if (sa->p.mode == SS_ESP_TRANSPORT) /* padding depends on the IP header: worst case */
		return outer + SS_ESP_HDR_LEN + sa->cr.iv_len + blk - 1 + SS_ESP_TRAILER_LEN + sa->cr.icv_len;
	size_t padded = (inner_len + SS_ESP_TRAILER_LEN + blk - 1) / blk * blk;
	return outer + SS_ESP_HDR_LEN + sa->cr.iv_len + (padded - inner_len) + sa->cr.icv_len;
}
