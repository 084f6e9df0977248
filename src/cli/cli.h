/* softsa, the command-line tool: subcommands by table (main.c), each in its own file.  Later
 * subcommands (status, sas, soft, peers, stats, monitor, ...) talk to softsad over its
 * control socket (ctl.h) and sit in the same table. */
#ifndef SS_CLI_CLI_H
#define SS_CLI_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "policy/classify.h"
#include "policy/describe.h"
#include "policy/load.h"
#include "policy/policy.h"

/* Exit codes: 0 success, 1 the input is bad (invalid policy, no such file), 2 bad usage. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

typedef struct cli_cmd {
	const char *name;
	const char *args;     /* synopsis after the name */
	const char *summary;  /* one line for `softsa --help` */
	const char *help;     /* the rest of `softsa NAME --help` */
	int (*run)(const struct cli_cmd *cmd, int argc, char **argv);
} cli_cmd;

int cmd_check(const cli_cmd *cmd, int argc, char **argv);
int cmd_explain(const cli_cmd *cmd, int argc, char **argv);
int cmd_publish(const cli_cmd *cmd, int argc, char **argv);
/* Talking to softsad (ctl.h): */
int cmd_status(const cli_cmd *cmd, int argc, char **argv);
int cmd_sas(const cli_cmd *cmd, int argc, char **argv);
int cmd_soft(const cli_cmd *cmd, int argc, char **argv);
int cmd_peers(const cli_cmd *cmd, int argc, char **argv);
int cmd_stats(const cli_cmd *cmd, int argc, char **argv);
int cmd_reload(const cli_cmd *cmd, int argc, char **argv);
int cmd_initiate(const cli_cmd *cmd, int argc, char **argv);
int cmd_terminate(const cli_cmd *cmd, int argc, char **argv);
int cmd_flush_soft(const cli_cmd *cmd, int argc, char **argv);
int cmd_monitor(const cli_cmd *cmd, int argc, char **argv);
/* softsa explain --live: the packet (already checked) sent to softsad's "explain". */
int cli_explain_live(const cli_cmd *cmd, const char *control, bool json, const char *dir, int n, char **a);

void cli_usage(const cli_cmd *cmd, FILE *out);
/* Prints "softsa NAME: message" and the synopsis to stderr; returns CLI_USAGE. */
int cli_usage_error(const cli_cmd *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Where a policy comes from, as every policy-reading subcommand takes it. */
typedef struct cli_source {
	const char *file;
	const char *builtin;
	const char *psk_file;
	bool no_dns;
	bool skip_key_files;
	bool json;
} cli_source;

/* Options every policy-reading subcommand accepts (getopt_long entries and their handler). */
#define CLI_SOURCE_OPTS \
	{ "builtin", required_argument, NULL, 'b' }, \
	{ "psk-file", required_argument, NULL, 'k' }, \
	{ "no-dns", no_argument, NULL, 'n' }, \
	{ "skip-key-files", no_argument, NULL, 's' }, \
	{ "json", no_argument, NULL, 'j' }, \
	{ "help", no_argument, NULL, 'h' }
bool cli_source_opt(cli_source *s, int opt, const char *arg);

/* Loads the policy; on error prints FILE:LINE:COL: message (or JSON) and returns NULL. */
ss_policy *cli_load(const cli_source *s);
json_t *cli_error_json(const ss_load_error *e);
/* Prints JSON to stdout with a newline and frees it. */
void cli_print_json(json_t *j);

/* softsa check: certificate methods valid now and verifying to their CA; *out the JSON
 * list.  false (error printed as FILE:LINE:COL) when one does not. */
bool cli_check_certs(const ss_policy *p, bool json, json_t **out);
void cli_print_certs(json_t *certs);

#endif
