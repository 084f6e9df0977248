/* `softsa stats --prometheus`: the stats result in the Prometheus text exposition format
 * (version 0.0.4), for node_exporter's textfile collector.  Metric names are a stable
 * interface, so they come from this table and not from the JSON's member names: a member
 * the table does not list is not exported (add it here, never rename). */
#include "cli/ctl.h"

#include <string.h>

typedef struct prom {
	const char *path;   /* members from the stats root; a last component "*" is every member */
	const char *name;   /* the metric; with "*" and no label, a prefix completed by the member */
	const char *type;   /* counter or gauge */
	const char *help;
	const char *label;  /* label name, or NULL */
	const char *value;  /* label value; NULL with "*": the member's name ('_' -> '-') */
} prom;

static const prom metrics[] = {
	{ "negotiations.started", "softsa_negotiations_started_total", "counter",
	  "IKE negotiations started by the agent.", NULL, NULL },
	{ "negotiations.secured", "softsa_negotiations_total", "counter",
	  "IKE negotiations ended, by outcome.", "outcome", "secured" },
	{ "negotiations.peer_silent", "softsa_negotiations_total", "counter", NULL, "outcome", "peer-silent" },
	{ "negotiations.peer_unreachable", "softsa_negotiations_total", "counter", NULL, "outcome", "peer-unreachable" },
	{ "negotiations.peer_refused", "softsa_negotiations_total", "counter", NULL, "outcome", "peer-refused" },
	/* Not an outcome: our responder gave up on an IKE_SA_INIT without IKE_AUTH. */
	{ "negotiations.responder_gave_up", "softsa_negotiations_total", "counter", NULL, "outcome",
	  "responder-gave-up" },
	{ "soft.created", "softsa_soft_associations_created_total", "counter",
	  "Soft associations created (peer never answered IKE, clear traffic allowed).", NULL, NULL },
	{ "soft.expired", "softsa_soft_associations_expired_total", "counter",
	  "Soft associations ended by their idle lifetime.", NULL, NULL },
	{ "soft.upgraded", "softsa_soft_associations_upgraded_total", "counter",
	  "Soft associations replaced by IKE because the peer started it.", NULL, NULL },
	{ "soft.now", "softsa_soft_associations", "gauge", "Soft associations now.", NULL, NULL },
	{ "packets.captured", "softsa_packets_captured_total", "counter",
	  "Outbound packets the dataplane handed to softsad.", NULL, NULL },
	{ "packets.held", "softsa_packets_held_total", "counter",
	  "Packets held while a negotiation ran.", NULL, NULL },
	{ "packets.held_now", "softsa_packets_held", "gauge", "Packets held now.", NULL, NULL },
	{ "packets.released_clear", "softsa_packets_released_total", "counter",
	  "Held packets released, in the clear (soft association) or through an SA.", "via", "clear" },
	{ "packets.released_sa", "softsa_packets_released_total", "counter", NULL, "via", "sa" },
	{ "packets.held_dropped", "softsa_packets_held_dropped_total", "counter",
	  "Held packets dropped (negotiation failed, no clear traffic allowed).", NULL, NULL },
	{ "packets.held_overflow", "softsa_packets_held_overflow_total", "counter",
	  "Packets dropped because the hold limits (bytes, per peer and in all) were reached.", NULL, NULL },
	{ "packets.held_expired", "softsa_packets_held_expired_total", "counter",
	  "Held packets dropped because they were older than the negotiation schedule.", NULL, NULL },
	{ "packets.held_bytes_now", "softsa_packets_held_bytes", "gauge",
	  "Bytes held now (each packet's length plus 64 of bookkeeping).", NULL, NULL },
	{ "packets.held_bytes_max", "softsa_packets_held_bytes_max", "gauge",
	  "Most bytes ever held at once.", NULL, NULL },
	{ "packets.dropped.*", "softsa_packets_dropped_total", "counter",
	  "Packets dropped by the agent, by reason.", "reason", NULL },
	{ "esp.packets_in", "softsa_esp_packets_total", "counter",
	  "ESP packets decapsulated (in) and encapsulated (out).", "direction", "in" },
	{ "esp.packets_out", "softsa_esp_packets_total", "counter", NULL, "direction", "out" },
	{ "esp.bytes_in", "softsa_esp_bytes_total", "counter",
	  "Bytes of ESP traffic, inner packets.", "direction", "in" },
	{ "esp.bytes_out", "softsa_esp_bytes_total", "counter", NULL, "direction", "out" },
	{ "esp.no_sa_out", "softsa_esp_no_sa_out_total", "counter",
	  "Outbound packets to encrypt that found no SA.", NULL, NULL },
	{ "esp.errors.*", "softsa_esp_errors_total", "counter",
	  "ESP packets dropped, by kind of error.", "kind", NULL },
	{ "ike.datagrams_in", "softsa_ike_datagrams_total", "counter",
	  "IKE datagrams received and sent.", "direction", "in" },
	{ "ike.datagrams_out", "softsa_ike_datagrams_total", "counter", NULL, "direction", "out" },
	{ "ike.icmp_errors", "softsa_ike_icmp_errors_total", "counter",
	  "ICMP errors received for IKE datagrams.", NULL, NULL },
	{ "ike.malformed", "softsa_ike_malformed_total", "counter", "Malformed IKE datagrams dropped.", NULL, NULL },
	{ "ike.retransmits", "softsa_ike_retransmits_total", "counter", "IKE requests retransmitted.", NULL, NULL },
	{ "ike.auth_failed", "softsa_ike_auth_failed_total", "counter",
	  "IKE messages dropped because their authentication failed.", NULL, NULL },
	{ "ike.established", "softsa_ike_sas_established_total", "counter", "IKE SAs established.", NULL, NULL },
	{ "ike.failed", "softsa_ike_sas_failed_total", "counter", "IKE SAs that failed.", NULL, NULL },
	{ "ike.sas", "softsa_ike_sas", "gauge", "IKE SAs now.", NULL, NULL },
	{ "ike.late_answers", "softsa_ike_late_answers_total", "counter",
	  "IKE answers after an ICMP-based (provisional) outcome: the soft association ended.", NULL, NULL },
	{ "ike.ikev1_answers", "softsa_ike_ikev1_answers_total", "counter",
	  "IKEv1 answers to our IKE_SA_INIT (peer speaks IKEv1 only: refused, never soft).", NULL, NULL },
	{ "ike.ikev1_other", "softsa_ike_ikev1_other_total", "counter",
	  "Other IKEv1 messages dropped.", NULL, NULL },
	{ "ike.liveness.checks_sent", "softsa_ike_liveness_checks_total", "counter",
	  "Liveness checks sent (our protected traffic went unanswered for dpd_delay).", NULL, NULL },
	{ "ike.liveness.peers_dead", "softsa_ike_peers_dead_total", "counter",
	  "IKE SAs deleted because a liveness check went unanswered (peer dead).", NULL, NULL },
	{ "ike.liveness.esp_unknown_spi", "softsa_esp_unknown_spi_total", "counter",
	  "Inbound ESP for SPIs we hold no SA for.", NULL, NULL },
	{ "ike.liveness.esp_unknown_spi_secured", "softsa_esp_unknown_spi_secured_total", "counter",
	  "Of those, from peers the policy secures (counted per peer, may start a negotiation).", NULL, NULL },
	{ "ike.liveness.esp_unknown_spi_limited", "softsa_esp_unknown_spi_limited_total", "counter",
	  "Of those, inside their peer's rate-limit gap (no notify, no log).", NULL, NULL },
	{ "ike.liveness.invalid_spi_sent", "softsa_ike_invalid_spi_total", "counter",
	  "Unprotected INVALID_SPI notifies sent and received.", "direction", "out" },
	{ "ike.liveness.invalid_spi_received", "softsa_ike_invalid_spi_total", "counter", NULL, "direction", "in" },
	{ "ike.liveness.invalid_spi_ignored", "softsa_ike_invalid_spi_ignored_total", "counter",
	  "Received INVALID_SPI notifies ignored (no SPI of ours, or too soon after another).", NULL, NULL },
	{ "ike.flood.cookies_required", "softsa_ike_cookies_required", "gauge",
	  "1 while IKE_SA_INIT requests must echo a COOKIE (half-open SAs reached the threshold).", NULL, NULL },
	{ "ike.flood.floods", "softsa_ike_floods_total", "counter",
	  "Times COOKIEs began to be required.", NULL, NULL },
	{ "ike.flood.cookies_sent", "softsa_ike_cookies_sent_total", "counter",
	  "COOKIE notifies sent in answer to IKE_SA_INIT requests.", NULL, NULL },
	{ "ike.flood.cookies_verified", "softsa_ike_cookies_verified_total", "counter",
	  "IKE_SA_INIT requests that echoed a valid COOKIE.", NULL, NULL },
	{ "ike.flood.half_open", "softsa_ike_half_open_sas", "gauge", "Half-open responder IKE SAs now.", NULL, NULL },
	{ "ike.flood.half_open_peak", "softsa_ike_half_open_sas_peak", "gauge",
	  "Most half-open responder IKE SAs at once since start.", NULL, NULL },
	{ "ike.flood.half_open_refused", "softsa_ike_half_open_refused_total", "counter",
	  "IKE_SA_INIT requests dropped by the half-open bounds.", NULL, NULL },
	{ "ike.flood.half_open_refused_per_peer", "softsa_ike_half_open_refused_per_peer_total", "counter",
	  "Of those, dropped by the per-address bound.", NULL, NULL },
	{ "ike.flood.half_open_expired", "softsa_ike_half_open_expired_total", "counter",
	  "Half-open SAs that timed out without IKE_AUTH.", NULL, NULL },
	{ "dataplane.*", "softsa_dataplane_", "counter", NULL, NULL, NULL },
	{ "control.requests", "softsa_control_requests_total", "counter",
	  "Control requests answered.", NULL, NULL },
	{ "control.errors", "softsa_control_errors_total", "counter",
	  "Control requests answered with an error.", NULL, NULL },
	{ "policy.reloads", "softsa_policy_reloads_total", "counter", "Policy reloads that succeeded.", NULL, NULL },
	{ "policy.reload_failures", "softsa_policy_reload_failures_total", "counter",
	  "Policy reloads refused (invalid file; the old policy stayed).", NULL, NULL },
};

static json_t *member(json_t *root, const char *path, size_t len)
{
	json_t *v = root;
	const char *p = path, *end = path + len;
	while (v && p < end) {
		const char *dot = memchr(p, '.', (size_t)(end - p));
		size_t n = dot ? (size_t)(dot - p) : (size_t)(end - p);
		char key[64];
		if (n >= sizeof(key))
			return NULL;
		memcpy(key, p, n);
		key[n] = 0;
		v = json_object_get(v, key);
		p += n + 1;
	}
	return v;
}

/* Label values and names from member names: letters, digits, '_' ('-' in values). */
static void clean(char *dst, size_t len, const char *src, char sep)
{
	size_t i = 0;
	for (; src[i] && i + 1 < len; i++) {
		char c = src[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		dst[i] = ok ? c : sep;
	}
	dst[i] = 0;
}

static void header(FILE *out, const char *name, const char *help, const char *type, const char **last)
{
	if (*last && strcmp(*last, name) == 0)
		return;
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help ? help : "softsad counter.", name, type);
	*last = name;
}

/* Numbers as they are; booleans (flags like ike.flood.cookies_required) as 0 or 1. */
static void sample(FILE *out, const char *name, const char *label, const char *value, json_t *v)
{
	if (!json_is_number(v) && !json_is_boolean(v))
		return;
	long long n = json_is_boolean(v) ? json_is_true(v) : cli_num(v);
	if (label)
		fprintf(out, "%s{%s=\"%s\"} %lld\n", name, label, value, n);
	else
		fprintf(out, "%s %lld\n", name, n);
}

static void wildcard(FILE *out, const prom *m, json_t *obj, const char **last)
{
	const char *key;
	json_t *v;
	static char names[64][96]; /* header() remembers the last name across calls */
	size_t k = 0;
	json_object_foreach(obj, key, v) {
		if (!json_is_number(v))
			continue;
		if (m->label) {
			char val[64];
			clean(val, sizeof(val), key, '-');
			header(out, m->name, m->help, m->type, last);
			sample(out, m->name, m->label, val, v);
		} else {
			char *name = names[k++ % 64], part[64];
			clean(part, sizeof(part), key, '_');
			snprintf(name, 96, "%s%s%s", m->name, part, strcmp(m->type, "counter") == 0 ? "_total" : "");
			char help[160];
			snprintf(help, sizeof(help), "softsad counter %.*s%s.", (int)(strlen(m->path) - 1), m->path, key);
			header(out, name, help, m->type, last);
			sample(out, name, NULL, NULL, v);
		}
	}
}

void cli_print_prometheus(json_t *stats, json_t *status, FILE *out)
{
	const char *last = NULL;
	fprintf(out, "# HELP softsa_up Whether softsad answered on its control socket.\n"
		     "# TYPE softsa_up gauge\nsoftsa_up %d\n", stats ? 1 : 0);
	if (status) {
		char v[64];
		clean(v, sizeof(v), cli_str(status, "version", "unknown"), '.');
		fprintf(out, "# HELP softsa_info softsad's version.\n# TYPE softsa_info gauge\n"
			     "softsa_info{version=\"%s\"} 1\n", v);
		fprintf(out, "# HELP softsa_uptime_seconds Seconds since softsad started.\n"
			     "# TYPE softsa_uptime_seconds gauge\nsoftsa_uptime_seconds %lld\n",
			cli_int(status, "uptime_ms") / 1000);
	}
	if (!stats)
		return;
	for (size_t i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++) {
		const prom *m = &metrics[i];
		size_t len = strlen(m->path);
		if (len >= 2 && strcmp(m->path + len - 2, ".*") == 0) {
			json_t *obj = member(stats, m->path, len - 2);
			if (json_is_object(obj))
				wildcard(out, m, obj, &last);
			continue;
		}
		json_t *v = member(stats, m->path, len);
		if (!json_is_number(v) && !json_is_boolean(v))
			continue;
		/* The first entry of a name carries its help; later ones share it. */
		const char *help = m->help;
		for (size_t k = 0; !help && k < i; k++)
			if (strcmp(metrics[k].name, m->name) == 0)
				help = metrics[k].help;
		header(out, m->name, help, m->type, &last);
		sample(out, m->name, m->label, m->value, v);
	}
}
