/* The dataplane's side of softsad, for any backend (dataplane/dataplane.h): its descriptors
 * and timers are processed here; the events that produces go to the node (node/node_dp.c),
 * whose run ends with ss_dp_flush, which sends what the verdicts staged.  And its counters. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "daemon/daemon.h"
#include "dataplane/dataplane.h"
#include "esp/esp.h"

/* Calls per readable descriptor: a backend returns at most one batch per process call, so
 * this bounds one wake-up to ROUNDS batches before the loop looks at the other sources. */
enum { ROUNDS = 16, BATCH = 64 };

int dm_on_dp(ss_daemon *d, int fd, ss_time now)
{
	for (int round = 0; round < ROUNDS; round++) {
		int n = ss_dp_process(d->dp, fd, now);
		if (n < 0 && n != -EAGAIN && n != -EINTR)
			return n;
		dm_drain(d, now);
		if (n < BATCH || fd < 0)
			break;
		now = ss_now_ms();
	}
	return 0;
}

ss_time dm_dp_deadline(ss_daemon *d)
{
	return ss_dp_deadline(d->dp);
}

const char *dm_dp_what(ss_daemon *d, char *buf, size_t len)
{
	ss_dp_info in;
	ss_dp_info_get(d->dp, &in);
	if (strcmp(in.name, "kernel") == 0)
		snprintf(buf, len, "kernel XFRM");
	else
		snprintf(buf, len, "TUN %s", d->o.tun_name);
	return buf;
}

json_t *dm_dp_info_json(ss_daemon *d)
{
	ss_dp_info in;
	ss_dp_info_get(d->dp, &in);
	return json_pack("{s:s, s:s}", "name", in.name, "why", in.why);
}

json_t *dm_dp_stats_json(ss_daemon *d)
{
	ss_dp_stats s;
	ss_dp_get_stats(d->dp, &s);
	const uint64_t *e = s.esp_in_err;
	json_t *j = json_pack("{s:{s:I, s:I, s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}},"
			 " s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}}",
			 "esp", "packets_out", (json_int_t)s.esp_out_pkts, "bytes_out", (json_int_t)s.esp_out_bytes,
			 "packets_in", (json_int_t)s.esp_in_pkts, "bytes_in", (json_int_t)s.esp_in_bytes,
			 "no_sa_out", (json_int_t)s.no_sa_out, "unknown_spi", (json_int_t)s.unknown_spi,
			 "errors", "no_sa", (json_int_t)e[SS_ESP_E_NOSA], "replay", (json_int_t)e[SS_ESP_E_REPLAY],
			 "auth", (json_int_t)e[SS_ESP_E_AUTH], "malformed", (json_int_t)e[SS_ESP_E_MALFORMED],
			 "pad", (json_int_t)e[SS_ESP_E_PAD], "selector", (json_int_t)e[SS_ESP_E_SELECTOR],
			 "expired", (json_int_t)e[SS_ESP_E_EXPIRED], "encap", (json_int_t)s.esp_out_err,
			 "dataplane", "captured", (json_int_t)s.port_captured, "released", (json_int_t)s.port_released,
			 "release_err", (json_int_t)s.release_err, "esp_tx", (json_int_t)s.esp_tx, "esp_tx_err",
			 (json_int_t)s.esp_tx_err, "esp_rx", (json_int_t)s.esp_rx, "delivered", (json_int_t)s.delivered,
			 "notices", (json_int_t)s.notices, "malformed", (json_int_t)s.malformed, "held_now",
			 (json_int_t)s.held_now, "gso_split", (json_int_t)s.gso_split, "gso_sent",
			 (json_int_t)s.gso_sent, "gro_merged", (json_int_t)s.gro_merged,
			 "too_big", (json_int_t)s.too_big);
	/* Read by the daemon from its NAT-T sockets, so counted there. */
	json_object_set_new(json_object_get(j, "dataplane"), "udp_gro_reads", json_integer((json_int_t)d->st.natt_gro));
	return j;
}
