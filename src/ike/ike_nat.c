/* NAT detection (§2.23): each side hashes the addresses and ports it sees; a mismatch on
 * the receiving side means a NAT changed them, and both sides move to UDP 4500.
 *
 * SHA-1 is what the RFC fixes for these notifies and is no secret here; the crypto layer
 * has no plain hash, so this small wrapper calls EVP directly. */
#include <openssl/evp.h>
#include <pthread.h>
#include <string.h>

#include "ike/ike_internal.h"

static EVP_MD *sha1;
static pthread_once_t sha1_once = PTHREAD_ONCE_INIT;

/* An explicit fetch, once: EVP_sha1() would look the algorithm up on every call. */
static void fetch_sha1(void)
{
	sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
}

bool nat_hash(uint64_t spi_i, uint64_t spi_r, const ss_ike_endpoint *ep, uint8_t out[20])
{
	pthread_once(&sha1_once, fetch_sha1);
	if (!sha1)
		return false;
	uint8_t in[8 + 8 + 16 + 2];
	size_t alen = ep->addr.family == SS_AF_INET ? 4 : 16;
	for (int i = 0; i < 8; i++) {
		in[i] = (uint8_t)(spi_i >> (56 - 8 * i));
		in[8 + i] = (uint8_t)(spi_r >> (56 - 8 * i));
	}
	memcpy(in + 16, ep->addr.a, alen);
	in[16 + alen] = (uint8_t)(ep->port >> 8);
	in[17 + alen] = (uint8_t)ep->port;
	unsigned int n = 0;
	return EVP_Digest(in, 18 + alen, out, &n, sha1, NULL) == 1 && n == 20;
}

void nat_add_notifies(ss_ike_writer *w, uint64_t spi_i, uint64_t spi_r,
		      const ss_ike_endpoint *local, const ss_ike_endpoint *remote, bool pretend)
{
	uint8_t h[20];
	/* Pretending to be behind a NAT (udp_encap: always): the hash of our address with port
	 * 0, which no datagram comes from, so the peer's check cannot match it. */
	ss_ike_endpoint src = *local;
	if (pretend)
		src.port = 0;
	if (nat_hash(spi_i, spi_r, &src, h))
		ss_ikew_notify(w, 0, NULL, 0, SS_N_NAT_DETECTION_SOURCE_IP, h, 20);
	if (nat_hash(spi_i, spi_r, remote, h))
		ss_ikew_notify(w, 0, NULL, 0, SS_N_NAT_DETECTION_DESTINATION_IP, h, 20);
}

bool nat_peer_does_natt(const ss_ike_msg *m)
{
	bool src = false, dst = false;
	for (unsigned i = 0; i < m->n_notify; i++) {
		src |= m->notify[i].type == SS_N_NAT_DETECTION_SOURCE_IP;
		dst |= m->notify[i].type == SS_N_NAT_DETECTION_DESTINATION_IP;
	}
	return src && dst;
}

bool nat_detected(const ss_ike_msg *m, const ss_ike_endpoint *local, const ss_ike_endpoint *remote,
		  bool *behind_nat)
{
	uint8_t h[20];
	bool have_src = false, src_ok = false, dst_ok = false, have_dst = false;
	*behind_nat = false;
	/* The source hash may come several times (multi-homed peers): any match will do. */
	for (unsigned i = 0; i < m->n_notify; i++) {
		const ss_ike_notify_pl *n = &m->notify[i];
		if (n->type == SS_N_NAT_DETECTION_SOURCE_IP) {
			have_src = true;
			src_ok |= n->data.len == 20 && nat_hash(m->hdr.spi_i, m->hdr.spi_r, remote, h) &&
				  memcmp(h, n->data.p, 20) == 0;
		} else if (n->type == SS_N_NAT_DETECTION_DESTINATION_IP) {
			have_dst = true;
			dst_ok = n->data.len == 20 && nat_hash(m->hdr.spi_i, m->hdr.spi_r, local, h) &&
				 memcmp(h, n->data.p, 20) == 0;
		}
	}
	if (!have_src || !have_dst)
		return false;  /* the peer does not do NAT-T: stay on 500 */
	/* The peer saw another address than ours: a NAT in front of us (§2.23). */
	*behind_nat = !dst_ok;
	return !src_ok || !dst_ok;
}

/* RFC 3948 §2.3: behind a NAT, one 0xFF octet on 4500 every 20 s keeps the mapping open. */
void nat_keepalive_timer(ss_ike_engine *e, ike_sa *sa, ss_time now)
{
	if (sa->keepalive_at == SS_NEVER || now < sa->keepalive_at || sa->state != ST_ESTABLISHED)
		return;
	static const uint8_t ka = 0xff;
	act_keepalive(e, sa, &sa->local, &sa->remote, &ka, 1);
	sa->keepalive_at = now + SS_NATT_KEEPALIVE_MS;
}
