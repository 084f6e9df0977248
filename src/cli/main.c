/* softsa: dispatch to subcommands by table; `--help` at every level. */
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "base/secure.h"
#include "cli/cli.h"

static const cli_cmd commands[] = {
	{ "check", "[--json] [--strict] [--no-dns] [--skip-key-files] (FILE | --builtin NAME) [--psk-file FILE]",
		"validate a policy and print its rules in effective order",
		"Validates the policy file (or a built-in policy) and prints every filter in the order\n"
		"softsa applies them: most specific first, ties in file order (doc/policy.md, Ordering),\n"
		"with its rule and action.  Exit status 0 when valid, 1 when not (the error is printed\n"
		"as FILE:LINE:COL: message), 2 on bad usage.  FILE - reads standard input.\n"
		"\n"
		"Warnings: a filter that a more specific filter with another action overrides for part\n"
		"of its traffic (which traffic, which filter wins, and the filter to add for the intended\n"
		"effect), and a one-way filter whose replies another filter treats with another kind of\n"
		"action.  Exceptions written inside a wider filter are notes.  Warnings keep status 0.\n"
		"\n"
		"  --strict         warnings are errors (exit status 1)\n"
		"  --builtin NAME   a built-in policy: client, server, secure-server\n"
		"  --psk-file FILE  the pre-shared key for policy-wide authentication (needed by\n"
		"                   built-in policies; overrides the file's psk_file)\n"
		"  --no-dns         do not resolve DNS names (they become errors)\n"
		"  --skip-key-files do not read psk_file files (check a policy where its keys are not)\n"
		"  --json           print JSON instead of text\n",
		cmd_check },
	{ "explain", "[--in|--out] [--json] (FILE | --builtin NAME | --live [--control PATH]) SRC DST [PROTO [[SPORT] DPORT]]",
		"say which rule and filter a packet matches and what softsa does with it",
		"Classifies one packet from SRC to DST (IP addresses) with the policy and explains, in\n"
		"words, what softsa does: permit, block, or negotiate; what happens if the peer is not\n"
		"IPsec-aware; whether unsecured inbound packets are accepted; discovery.\n"
		"PROTO is any, tcp, udp, icmp, icmpv6, sctp or a number (default any); ports only with\n"
		"tcp, udp, sctp.  When no filter with a protocol would matter, omit PROTO.  A destination\n"
		"port alone takes the source port as 49152 (ephemeral).  Options go anywhere.\n"
		"What the datapath lets through before any filter is said as such: UDP 500/4500 (IKE),\n"
		"inbound ESP, the host's own addresses (loopback), IPv6 neighbour discovery.\n"
		"\n"
		"  --out            the packet leaves this host (SRC is me); the default\n"
		"  --in             the packet arrives at this host (DST is me)\n"
		"  --builtin NAME, --psk-file FILE, --no-dns, --skip-key-files, --json: as for check\n"
		"  --live           ask the running softsad instead of reading a policy: its policy\n"
		"                   as loaded now, and the association it holds for the pair\n"
		"  --control PATH   with --live: softsad's control socket (default $SOFTSA_CONTROL,\n"
		"                   else /run/softsa/control)\n",
		cmd_explain },
	{ "publish", "--directory BOOTSTRAP [--dn DN] [--no-dns] [--skip-key-files] [--psk-file FILE] FILE",
		"check a policy and store it in the LDAP directory",
		"Checks the policy FILE exactly as 'softsa check' does, then stores it in the directory\n"
		"the bootstrap file names (doc/directory.md): a softsaPolicy entry whose document is\n"
		"FILE's text, cn and description from the policy, version 1 when new, else one more\n"
		"than the stored one.  Every softsad assigned that policy follows within seconds.\n"
		"Exit status 0 when stored, 1 when the policy is invalid (FILE:LINE:COL: message) or\n"
		"the directory refuses (a concurrent publish of the same policy included), 2 on bad usage.\n"
		"\n"
		"  --directory FILE the bootstrap file: URIs, TLS, and a bind that may write policies\n"
		"  --dn DN          the entry (default cn=NAME,POLICY_BASE: the policy's name under the\n"
		"                   bootstrap's policy_base, else its base_dn)\n"
		"  --psk-file FILE, --no-dns, --skip-key-files: as for check\n",
		cmd_publish },
#define CTL_OPTS "[--json] [--control PATH]"
#define CTL_HELP \
	"  --json           print the daemon's result object (doc/control.md) instead of text\n" \
	"  --control PATH   softsad's control socket (default $SOFTSA_CONTROL, else\n" \
	"                   /run/softsa/control; root's, mode 0600)\n" \
	"Exit status 0 on success, 1 when softsad is not running, the socket is not accessible\n" \
	"or softsad refuses the request (the reason is printed), 2 on bad usage.\n"
	{ "status", CTL_OPTS, "softsad's version, uptime, ports, policy and associations",
		"Asks the running softsad for its version, PID, uptime, IKE ports and policy, and\n"
		"counts the associations it tracks by state.\n\n" CTL_HELP,
		cmd_status },
	{ "sas", CTL_OPTS, "list IKE SAs and their CHILD SAs (ESP)",
		"Lists the IKE SAs with their peer, state, suite, SPIs, age and lifetime, and under each\n"
		"its CHILD SAs: ESP suite, mode, SPIs in and out, packets and bytes each way, traffic\n"
		"selectors.\n\n" CTL_HELP,
		cmd_sas },
	{ "soft", CTL_OPTS, "list soft associations (peers talked to in the clear)",
		"Lists the soft associations: address pairs whose traffic goes in the clear because the\n"
		"peer never answered IKE and the rule allows it (fallback_to_clear), with the rule, why\n"
		"(peer-silent or peer-unreachable), age, time left before the idle lifetime ends it, and\n"
		"packets and bytes when the dataplane counts them.\n\n" CTL_HELP,
		cmd_soft },
	{ "peers", CTL_OPTS, "list every association: state, attempts, last outcome",
		"Lists every address pair softsad tracks, whatever its state (idle, negotiating,\n"
		"secured, soft, blocked), with the IKE attempt, time in that state, rule, packets held,\n"
		"and the last negotiation's outcome and why.\n\n" CTL_HELP,
		cmd_peers },
	{ "stats", "[--json | --prometheus] [--control PATH]", "counters since softsad started",
		"Prints softsad's counters: negotiations by outcome, soft associations, packets held,\n"
		"released and dropped, ESP traffic and errors by kind, IKE, dataplane, control.\n"
		"\n"
		"  --prometheus     the Prometheus text exposition format, for node_exporter's\n"
		"                   textfile collector; stable metric names such as\n"
		"                   softsa_negotiations_total{outcome=\"peer-silent\"}.  When softsad\n"
		"                   does not answer it still prints softsa_up 0 (and exits 1).\n"
		CTL_HELP,
		cmd_stats },
	{ "reload", CTL_OPTS, "make softsad load its policy file again",
		"softsad loads its policy file again, as on SIGHUP.  An invalid file leaves the running\n"
		"policy in force; the error (FILE:LINE:COL: message) is printed and the exit status is 1.\n"
		"\n" CTL_HELP,
		cmd_reload },
	{ "initiate", CTL_OPTS " PEER", "negotiate with PEER (an address) now",
		"Starts an IKE negotiation with PEER now, as its first packet would; 'softsa peers'\n"
		"follows it.  Nothing starts when a negotiation is under way or the pair is associated.\n"
		"\n" CTL_HELP,
		cmd_initiate },
	{ "terminate", CTL_OPTS " PEER", "delete the IKE and CHILD SAs with PEER",
		"Deletes the IKE SAs with PEER and their CHILD SAs (the peer is told).  The next packet\n"
		"to it negotiates again.\n\n" CTL_HELP,
		cmd_terminate },
	{ "flush-soft", CTL_OPTS, "remove every soft association",
		"Removes every soft association; the next packet to each of those peers negotiates\n"
		"again (and falls back again if the peer still does not answer).\n\n" CTL_HELP,
		cmd_flush_soft },
	{ "monitor", "[--interval SECONDS] [--events] [--count N] " CTL_OPTS, "live view of softsad, or its event stream",
		"Shows status, peers, soft associations, SAs and the main counters, refreshed in place\n"
		"every --interval seconds (default 1), like the Windows IP Security Monitor.  With\n"
		"--events, subscribes to softsad's event stream instead and prints each event as it\n"
		"comes (negotiation started/ended, SA up/down, soft association created/expired/\n"
		"upgraded, peer blocked, policy reloaded).  With --json, one JSON object per refresh\n"
		"or the events as softsad sends them, one per line.  Ctrl-C ends it (status 0);\n"
		"softsad going away ends it with status 1.\n"
		"\n"
		"  --interval SECONDS  time between refreshes, 0.1 to 3600 (default 1)\n"
		"  --events            the event stream instead of the view\n"
		"  --count N           stop after N refreshes or N events\n"
		CTL_HELP,
		cmd_monitor },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void main_help(FILE *out)
{
	fprintf(out, "usage: softsa COMMAND [OPTIONS] [ARGS]\n"
		"\n"
		"softsa is a host IPsec system with Windows-2000-shaped policies and soft associations.\n"
		"\n"
		"Commands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(out, "  %-11s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nGlobal options, before or after the command: --json, --control PATH.\n"
		"'softsa COMMAND --help' describes a command.  'softsa --version' prints the version.\n");
}

/* Options every command that has them takes anywhere: before the command name too
 * (softsa --json status).  Moved to just after the name, where each command's getopt finds
 * them; false for any other option before the command. */
static bool hoist_global_opts(int argc, char **argv, int *name_at)
{
	int i = 1;
	while (i < argc && argv[i][0] == '-' && argv[i][1]) {
		const char *a = argv[i];
		if (strcmp(a, "--json") == 0 || strcmp(a, "-j") == 0 || strncmp(a, "--control=", 10) == 0)
			i++;
		else if (strcmp(a, "--control") == 0 && i + 1 < argc)
			i += 2;
		else
			break;
	}
	*name_at = i;
	if (i == 1 || i >= argc)
		return i == 1;
	/* argv[1..i-1] are global options, argv[i] the command: rotate the name to the front. */
	char *name = argv[i];
	memmove(&argv[2], &argv[1], (size_t)(i - 1) * sizeof(*argv));
	argv[1] = name;
	*name_at = 1;
	return true;
}

int main(int argc, char **argv)
{
	const char *why;
	ss_log_open("plain", "softsa", &why); /* the loader's warnings, without timestamps */
	int at = 1;
	if (argc >= 2 && !hoist_global_opts(argc, argv, &at)) {
		fprintf(stderr, "softsa: '%s' needs a command after it (softsa --json COMMAND)\n", argv[1]);
		main_help(stderr);
		return CLI_USAGE;
	}
	/* softsa check loads private keys: OpenSSL must wipe what it frees (base/secure.h). */
	ss_openssl_wipe_on_free(NULL);
	if (argc < 2) {
		main_help(stderr);
		return CLI_USAGE;
	}
	const char *name = argv[1];
	if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
		if (argc > 2)
			for (size_t i = 0; i < N_COMMANDS; i++)
				if (strcmp(argv[2], commands[i].name) == 0) {
					cli_usage(&commands[i], stdout);
					fputs("\n", stdout);
					fputs(commands[i].help, stdout);
					return CLI_OK;
				}
		main_help(stdout);
		return CLI_OK;
	}
	if (strcmp(name, "--version") == 0) {
		printf("softsa %s\n", SOFTSA_VERSION);
		return CLI_OK;
	}
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(name, commands[i].name) == 0)
			return commands[i].run(&commands[i], argc - 1, argv + 1);
	fprintf(stderr, "softsa: unknown command '%s'\n", name);
	main_help(stderr);
	return CLI_USAGE;
}
