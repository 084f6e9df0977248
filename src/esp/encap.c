/* Outbound ESP (RFC 4303 §3.3): inner IP packet in, outer packet out, in place. */
#include <string.h>

#include "esp/ip.h"
#include "esp/sa.h"
#include "esp/wire.h"

/* Header writers: plan() has checked the room, so they store directly. */

/* The outer IPv4 header (RFC 791); proto is ESP or UDP. */
static void put_ipv4(uint8_t *b, const ss_addr *src, const ss_addr *dst, uint8_t tos, uint16_t id,
		     bool df, uint8_t ttl, uint8_t proto, size_t total)
{
	ss_put32(b, 0x45000000u | (uint32_t)tos << 16 | (uint32_t)total);
	ss_put16(b + 4, id);
	ss_put16(b + 6, df ? SS_IPV4_DF : 0);
	b[8] = ttl;
	b[9] = proto;
	ss_put16(b + 10, 0);
	memcpy(b + 12, src->a, 4);
	memcpy(b + 16, dst->a, 4);
	ss_put16(b + 10, (uint16_t)~ss_csum_fold(ss_csum_add(0, b, SS_IPV4_HDR_LEN)));
}

static void put_ipv6(uint8_t *b, const ss_addr *src, const ss_addr *dst, uint8_t tclass,
		     uint8_t hops, uint8_t nh, size_t payload)
{
	ss_put32(b, 6u << 28 | (uint32_t)tclass << 20);
	ss_put16(b + 4, (uint16_t)payload);
	b[6] = nh;
	b[7] = hops;
	memcpy(b + 8, src->a, 16);
	memcpy(b + 24, dst->a, 16);
}

/* RFC 3948 §2.1: UDP header before the ESP header.  The IPv4 checksum is zero (§2.1 SHOULD);
 * IPv6 requires one (RFC 8200 §8.1), computed over the pseudo-header. */
static void put_udp(uint8_t *u, const ss_esp_sa *sa, size_t udp_len)
{
	ss_put16(u, sa->p.udp_local_port);
	ss_put16(u + 2, sa->p.udp_remote_port);
	ss_put16(u + 4, (uint16_t)udp_len);
	ss_put16(u + 6, 0);
	if (sa->p.local.family != SS_AF_INET6)
		return;
	uint8_t ph[8] = { 0, 0, (uint8_t)(udp_len >> 8), (uint8_t)udp_len, 0, 0, 0, SS_IPPROTO_UDP };
	uint32_t s = ss_csum_add(0, sa->p.local.a, 16);
	s = ss_csum_add(s, sa->p.remote.a, 16);
	s = ss_csum_add(s, ph, sizeof(ph));
	s = ss_csum_add(s, u, udp_len);
	uint16_t c = (uint16_t)~ss_csum_fold(s);
	ss_put16(u + 6, c ? c : 0xffff);
}

/* Where each part goes, computed before anything is written. */
typedef struct layout {
	size_t out;      /* outer packet start (offset in base) */
	size_t esp;      /* ESP header */
	size_t payload;  /* first plaintext byte */
	size_t plen;     /* payload bytes */
	size_t clen;     /* payload + padding + trailer */
	size_t hdr;      /* outer IP header length */
	uint8_t nh;      /* next header */
	bool esp_only;   /* no outer IP/UDP header: the socket adds them */
} layout;

static int plan(const ss_esp_sa *sa, const ss_esp_pkt *pk, const ss_ip_hdr *f, layout *l)
{
	bool udp = sa->p.udp_local_port != 0 && !l->esp_only;
	size_t pre = SS_ESP_HDR_LEN + sa->cr.iv_len + (udp ? SS_UDP_HDR_LEN : 0);
	if (sa->p.mode == SS_ESP_TUNNEL) {
		l->hdr = l->esp_only ? 0 : sa->p.local.family == SS_AF_INET6 ? SS_IPV6_HDR_LEN : SS_IPV4_HDR_LEN;
		l->payload = pk->off;
		l->plen = f->total_len;
		l->nh = f->version == 4 ? SS_IPPROTO_IPIP : SS_IPPROTO_IPV6;
	} else {
		/* RFC 4303 §3.1.1: transport mode protects whole datagrams; ESP goes right after
		 * the IP header.  IPv6 extension headers would have to stay in front of ESP;
		 * that case is refused rather than half done. */
		if (f->fragment || (f->version == 6 && f->first_nh != f->proto))
			return SS_ESP_E_UNSUPPORTED;
		/* ESP-only output drops the inner header: the kernel builds one from the socket's
		 * addressing, the same addresses. */
		l->hdr = l->esp_only ? 0 : f->hdr_len;
		l->payload = pk->off + f->hdr_len;
		l->plen = f->total_len - f->hdr_len;
		l->nh = f->proto;
	}
	size_t blk = sa->cr.block;
	l->clen = (l->plen + SS_ESP_TRAILER_LEN + blk - 1) / blk * blk;
	if (l->payload < pre + l->hdr)
		return SS_ESP_E_NOROOM;
	l->esp = l->payload - SS_ESP_HDR_LEN - sa->cr.iv_len;
	l->out = l->payload - pre - l->hdr;
	if (l->payload + l->clen + sa->cr.icv_len > pk->cap)
		return SS_ESP_E_NOROOM;
	return SS_ESP_OK;
}

/* Sequence number for the next packet; exhaustion is a hard expiry (RFC 4303 §3.3.3: the
 * counter must not cycle, the SA is rekeyed). */
static bool next_seq(ss_esp_sa *sa, uint64_t *seq)
{
	if (sa->seq >= sa->seq_max) {
		ss_esp_sa_expire(sa, SS_SA_HARD, SS_ESP_WHY_SEQ);
		return false;
	}
	*seq = ++sa->seq;
	if (sa->seq == sa->seq_max)
		ss_esp_sa_expire(sa, SS_SA_HARD, SS_ESP_WHY_SEQ);
	else if (sa->seq >= sa->seq_soft)
		ss_esp_sa_expire(sa, SS_SA_SOFT, SS_ESP_WHY_SEQ);
	return true;
}

/* Transport mode keeps the inner header (moved in front of ESP): only its length and
 * protocol fields change, and the IPv4 checksum. */
static void patch_inner_hdr(uint8_t *h, const ss_ip_hdr *f, uint8_t proto, size_t total)
{
	if (f->version == 4) {
		ss_put16(h + 2, (uint16_t)total);
		h[9] = proto;
		ss_put16(h + 10, 0);
		ss_put16(h + 10, (uint16_t)~ss_csum_fold(ss_csum_add(0, h, f->hdr_len)));
	} else {
		ss_put16(h + 4, (uint16_t)(total - SS_IPV6_HDR_LEN));
		h[6] = proto;
	}
}

static void put_outer(ss_esp_sa *sa, ss_esp_pkt *pk, const ss_ip_hdr *f, const layout *l,
		      uint8_t tos, bool df, size_t total)
{
	uint8_t *b = pk->base;
	bool udp = sa->p.udp_local_port != 0;
	uint8_t proto = udp ? SS_IPPROTO_UDP : SS_IPPROTO_ESP;
	bool tunnel = sa->p.mode == SS_ESP_TUNNEL;
	const ss_addr *src = tunnel ? &sa->p.local : &f->src;
	const ss_addr *dst = tunnel ? &sa->p.remote : &f->dst;
	if (l->esp_only)
		;
	else if (!tunnel)
		patch_inner_hdr(b + l->out, f, proto, total);
	else if (src->family == SS_AF_INET)
		put_ipv4(b + l->out, src, dst, tos, sa->ip_id++, df, SS_IP_DEFAULT_TTL, proto, total);
	else
		put_ipv6(b + l->out, src, dst, tos, SS_IP_DEFAULT_TTL, proto, total - SS_IPV6_HDR_LEN);
	if (udp && !l->esp_only)
		put_udp(b + l->out + l->hdr, sa, total - l->hdr);
	pk->src = *src;
	pk->dst = *dst;
	pk->outer_tos = tos;
	pk->sport = sa->p.udp_local_port;
	pk->dport = sa->p.udp_remote_port;
	pk->outer_hdr_len = (uint16_t)(l->esp - l->out);
}

/* TOS/traffic class and DF of the inner header, for the tunnel header: DSCP and ECN are
 * copied (RFC 4301 §5.1.2.1, RFC 6040 normal mode), DF too (RFC 4301 §8.1). */
static void inner_bits(const ss_esp_pkt *pk, const ss_ip_hdr *f, uint8_t *tos, bool *df)
{
	const uint8_t *h = pk->base + pk->off; /* ss_ip_parse validated the header */
	if (f->version == 4) {
		*tos = h[1];
		*df = (ss_get16(h + 6) & SS_IPV4_DF) != 0;
	} else {
		*tos = (uint8_t)(ss_get32(h) >> 20);
		*df = false;
	}
}

static int encap_one(ss_esp_sa *sa, ss_esp_pkt *pk, unsigned flags)
{
	if (sa->dead)
		return SS_ESP_E_EXPIRED;
	if (pk->off > pk->cap || pk->len > pk->cap - pk->off)
		return SS_ESP_E_MALFORMED;
	ss_ip_hdr f;
	layout l = { .esp_only = (flags & SS_ESP_ENCAP_ESP_ONLY) != 0 };
	int r = ss_ip_parse(pk->base + pk->off, pk->len, 0, &f) ? SS_ESP_OK : SS_ESP_E_MALFORMED;
	if (r == SS_ESP_OK && !ss_ts_match(&sa->p, &f, false))
		r = SS_ESP_E_SELECTOR;
	if (r == SS_ESP_OK)
		r = plan(sa, pk, &f, &l);
	if (r != SS_ESP_OK)
		return r;
	uint8_t tos;
	bool df;
	inner_bits(pk, &f, &tos, &df);
	if (sa->p.mode == SS_ESP_TRANSPORT && !l.esp_only)
		memmove(pk->base + l.out, pk->base + pk->off, l.hdr); /* keep the inner header */
	uint64_t seq;
	if (!next_seq(sa, &seq))
		return SS_ESP_E_EXPIRED;
	/* RFC 4303 §2.4: padding bytes 1, 2, 3, ...; then pad length and next header. */
	uint8_t *t = pk->base + l.payload + l.plen;
	size_t pad = l.clen - l.plen - SS_ESP_TRAILER_LEN;
	for (size_t i = 0; i < pad; i++)
		t[i] = (uint8_t)(i + 1);
	t[pad] = (uint8_t)pad;
	t[pad + 1] = l.nh;
	ss_put32(pk->base + l.esp, sa->p.spi);
	ss_put32(pk->base + l.esp + 4, (uint32_t)seq);
	if (!ss_esp_seal(&sa->cr, pk->base + l.esp, l.clen, seq, sa->p.esn))
		return SS_ESP_E_CRYPTO;
	size_t total = l.payload + l.clen + sa->cr.icv_len - l.out;
	put_outer(sa, pk, &f, &l, tos, df, total);
	pk->off = (uint32_t)l.out;
	pk->len = (uint32_t)total;
	ss_esp_sa_account(sa, f.total_len);
	return SS_ESP_OK;
}

size_t ss_esp_encap_batch(ss_esp_sa *sa, ss_esp_pkt *pkts, size_t n, ss_time now)
{
	return ss_esp_encap_batch_flags(sa, pkts, n, now, 0);
}

size_t ss_esp_encap_batch_flags(ss_esp_sa *sa, ss_esp_pkt *pkts, size_t n, ss_time now, unsigned flags)
{
	size_t ok = 0;
	ss_esp_sa_check_time(sa, now); /* a time limit may have passed since the last tick */
	for (size_t i = 0; i < n; i++) {
		int r = sa->p.dir == SS_ESP_OUT ? encap_one(sa, &pkts[i], flags) : SS_ESP_E_UNSUPPORTED;
		pkts[i].result = (int16_t)r;
		pkts[i].sa = sa;
		if (r == SS_ESP_OK)
			ok++;
		else
			sa->ctr.errors[r]++;
	}
	return ok;
}
