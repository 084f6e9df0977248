/* softsa: dispatch to subcommands by table; `--help` at every level. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const cli_cmd commands[] = {
	{ "check", "[--json] [--no-dns] [--skip-key-files] (FILE | --builtin NAME) [--psk-file FILE]",
		"validate a policy and print its rules in effective order",
		"Validates the policy file (or a built-in policy) and prints every filter in the order\n"
		"softsa applies them: most specific first, ties in file order (doc/policy.md, Ordering),\n"
		"with its rule and action.  Exit status 0 when valid, 1 when not (the error is printed\n"
		"as FILE:LINE:COL: message), 2 on bad usage.  FILE - reads standard input.\n"
		"\n"
		"  --builtin NAME   a built-in policy: client, server, secure-server\n"
		"  --psk-file FILE  the pre-shared key for policy-wide authentication (needed by\n"
		"                   built-in policies; overrides the file's psk_file)\n"
		"  --no-dns         do not resolve DNS names (they become errors)\n"
		"  --skip-key-files do not read psk_file files (check a policy where its keys are not)\n"
		"  --json           print JSON instead of text\n",
		cmd_check },
	{ "explain", "[--in|--out] [--json] (FILE | --builtin NAME) SRC DST [PROTO [SPORT DPORT]]",
		"say which rule and filter a packet matches and what softsa does with it",
		"Classifies one packet from SRC to DST (IP addresses) with the policy and explains, in\n"
		"words, what softsa does: permit, block, or negotiate; what happens if the peer is not\n"
		"IPsec-aware; whether unsecured inbound packets are accepted; discovery.\n"
		"PROTO is any, tcp, udp, icmp, icmpv6, sctp or a number (default any); ports only with\n"
		"tcp, udp, sctp.  When no filter with a protocol would matter, omit PROTO.\n"
		"\n"
		"  --out            the packet leaves this host (SRC is me); the default\n"
		"  --in             the packet arrives at this host (DST is me)\n"
		"  --builtin NAME, --psk-file FILE, --no-dns, --skip-key-files, --json: as for check\n",
		cmd_explain },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

void cli_usage(const cli_cmd *cmd, FILE *out)
{
	fprintf(out, "usage: softsa %s %s\n", cmd->name, cmd->args);
}

int cli_usage_error(const cli_cmd *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "softsa %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	cli_usage(cmd, stderr);
	fprintf(stderr, "Try 'softsa %s --help'.\n", cmd->name);
	return CLI_USAGE;
}

static void main_help(FILE *out)
{
	fprintf(out, "usage: softsa COMMAND [OPTIONS] [ARGS]\n"
		"\n"
		"softsa is a host IPsec system with Windows-2000-shaped policies and soft associations.\n"
		"\n"
		"Commands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n'softsa COMMAND --help' describes a command.  'softsa --version' prints the version.\n");
}

int main(int argc, char **argv)
{
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
