/* softsa sas: IKE SAs and their CHILD SAs, in the spirit of `swanctl --list-sas`. */
#include "cli/ctl.h"

static void print_ts(json_t *child, FILE *out)
{
	json_t *l = json_object_get(child, "ts_local"), *r = json_object_get(child, "ts_remote"), *v;
	size_t i;
	fprintf(out, "      traffic:");
	json_array_foreach(l, i, v) fprintf(out, " %s", json_string_value(v) ? json_string_value(v) : "?");
	fprintf(out, " ===");
	json_array_foreach(r, i, v) fprintf(out, " %s", json_string_value(v) ? json_string_value(v) : "?");
	fprintf(out, "\n");
}

static void print_child(json_t *c, FILE *out)
{
	char age[32], life[32], bi[32], bo[32];
	fprintf(out, "    CHILD SA %s, %s%s, age %s, lifetime %s\n", cli_str(c, "suite", "?"),
		cli_str(c, "mode", "?"), json_is_true(json_object_get(c, "udp_encap")) ? " in UDP" : "",
		cli_fmt_dur(cli_int(c, "age"), age, sizeof(age)), cli_fmt_dur(cli_int(c, "lifetime"), life, sizeof(life)));
	fprintf(out, "      in  SPI %s: %lld packets, %s\n", cli_str(c, "spi_in", "?"), cli_int(c, "packets_in"),
		cli_fmt_bytes(cli_int(c, "bytes_in"), bi, sizeof(bi)));
	fprintf(out, "      out SPI %s: %lld packets, %s\n", cli_str(c, "spi_out", "?"), cli_int(c, "packets_out"),
		cli_fmt_bytes(cli_int(c, "bytes_out"), bo, sizeof(bo)));
	print_ts(c, out);
}

/* How the peer authenticated, and with which certificate. */
static void print_peer(json_t *p, FILE *out)
{
	if (!p)
		return;
	static const char *const how[] = { [1] = "RSA", [2] = "pre-shared key", [9] = "ECDSA P-256",
					   [10] = "ECDSA P-384", [11] = "ECDSA P-521", [14] = "RFC 7427 signature" };
	long long m = cli_int(p, "auth_method"), lm = cli_int(p, "local_auth_method");
	const char *pm = m > 0 && m < 15 && how[m] ? how[m] : "?", *lmn = lm > 0 && lm < 15 && how[lm] ? how[lm] : "?";
	json_t *c = json_object_get(p, "certificate");
	fprintf(out, "  peer %s, by %s%s (we by %s)\n", cli_str(p, "id", "?"), c ? "certificate, " : "", pm, lmn);
	if (c)
		fprintf(out, "  peer certificate issued by %s, valid until %s\n", cli_str(c, "issuer", "?"),
			cli_str(c, "not_after", "?"));
}

void cli_print_sas(json_t *r, FILE *out)
{
	json_t *arr = json_object_get(r, "ike_sas"), *s;
	size_t i;
	if (!json_array_size(arr)) {
		fprintf(out, "no IKE SAs\n");
		return;
	}
	json_array_foreach(arr, i, s) {
		char age[32], life[32];
		const char *suite = cli_str(s, "suite", "");
		fprintf(out, "IKE SA %lld: %s <-> %s, %s, %s%s\n", cli_int(s, "id"), cli_str(s, "local", "?"),
			cli_str(s, "remote", "?"), cli_str(s, "state", "?"),
			json_is_true(json_object_get(s, "initiator")) ? "initiator" : "responder",
			json_is_true(json_object_get(s, "natt")) ? ", behind NAT (UDP 4500)" : "");
		fprintf(out, "  %s%sSPIs %s_i %s_r, age %s, lifetime %s", *suite ? suite : "", *suite ? ", " : "",
			cli_str(s, "spi_i", "?"), cli_str(s, "spi_r", "?"), cli_fmt_dur(cli_int(s, "age"), age, sizeof(age)),
			cli_fmt_dur(cli_int(s, "lifetime"), life, sizeof(life)));
		if (json_object_get(s, "rule"))
			fprintf(out, ", rule %s", cli_str(s, "rule", "?"));
		fprintf(out, "\n");
		print_peer(json_object_get(s, "peer"), out);
		json_t *ch = json_object_get(s, "children"), *c;
		size_t k;
		json_array_foreach(ch, k, c) print_child(c, out);
	}
}

int cmd_sas(const cli_cmd *cmd, int argc, char **argv)
{
	return cli_ctl_simple(cmd, argc, argv, "sas", cli_print_sas);
}
