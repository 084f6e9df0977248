/* The subcommands that talk to softsad over its control socket (doc/control.md): their
 * shared options, one request/one reply, and the helpers they print with. */
#ifndef SS_CLI_CTL_H
#define SS_CLI_CTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "cli/cli.h"

#define CLI_CONTROL_DEFAULT "/run/softsa/control"
#define CLI_CTL_TIMEOUT_MS 5000

/* Options every control subcommand takes; the extras only where listed. */
typedef struct cli_ctl_opts {
	const char *control;   /* --control PATH, else $SOFTSA_CONTROL, else the default */
	bool json;             /* --json: print the daemon's result object */
	bool prometheus;       /* stats --prometheus */
	bool events;           /* monitor --events */
	double interval;       /* monitor --interval SECONDS */
	long count;            /* monitor --count N: stop after N refreshes or events (0: never) */
} cli_ctl_opts;

enum { CLI_OPT_PROMETHEUS = 1, CLI_OPT_MONITOR = 2 };

/* Parses the options; returns the index of the first operand, or -1 with *rc set (help
 * printed: CLI_OK; usage error: CLI_USAGE).  nargs_min/max bound the operands. */
int cli_ctl_getopt(const cli_cmd *cmd, int argc, char **argv, unsigned extras, int nargs_min,
		   int nargs_max, cli_ctl_opts *o, int *rc);

/* Sends {"v":1,"cmd":name,...req} (req may be NULL; it is consumed) and returns the reply's
 * result (new reference).  On failure prints why ("softsa NAME: softsad is not running ...",
 * or the daemon's error code and message) and returns NULL; with --json the error object
 * {"error":{"code","message"}} is also printed on stdout (code "no-answer" when softsad did
 * not answer). */
json_t *cli_ctl_request(const cli_cmd *cmd, const cli_ctl_opts *o, const char *name, json_t *req);
/* A reply object (consumed): its result (new reference), or NULL with the daemon's error
 * code and message in code and err.  What every command makes of the daemon's answer. */
json_t *cli_ctl_result(json_t *reply, char *code, size_t codelen, char *err, size_t errlen);
/* The same without printing: the reply's result, or NULL with err filled. */
json_t *cli_ctl_try(const cli_ctl_opts *o, const char *name, json_t *req, char *err, size_t errlen);

/* Runs a command that sends one request and prints its result: JSON with --json, else
 * print(result).  The common body of status, sas, soft, peers, reload, flush-soft. */
int cli_ctl_simple(const cli_cmd *cmd, int argc, char **argv, const char *name,
		   void (*print)(json_t *result, FILE *out));

/* initiate and terminate: one operand, an address, sent as "peer"; the result in *result. */
int cli_peer_command(const cli_cmd *cmd, int argc, char **argv, const char *name, json_t **result,
		     cli_ctl_opts *o);

/* Accessors that tolerate missing members (clients ignore what they do not know and must
 * not crash on what is absent). */
const char *cli_str(json_t *o, const char *key, const char *dflt);
long long cli_int(json_t *o, const char *key);
/* A JSON number as long long: integers as they are, reals truncated and clamped to the
 * range (NaN 0), anything else 0. */
long long cli_num(json_t *v);

/* Human formats: durations ("45s", "4m05s", "2h00m", "3d04h") and byte counts ("512 B",
 * "8.2 KiB"), into the caller's buffer, which is returned. */
char *cli_fmt_dur(long long seconds, char *buf, size_t len);
char *cli_fmt_bytes(long long bytes, char *buf, size_t len);

/* A text table: columns sized to their widest cell, two spaces apart. */
typedef struct cli_table cli_table;
cli_table *cli_table_new(size_t ncol, const char *const *headers);
void cli_table_add(cli_table *t, const char *const *cells);
void cli_table_print(cli_table *t, FILE *out);
void cli_table_free(cli_table *t);

/* The human forms, shared by their subcommands and `softsa monitor`. */
void cli_print_status(json_t *status, FILE *out);
void cli_print_sas(json_t *sas, FILE *out);
void cli_print_soft(json_t *soft, FILE *out);
void cli_print_peers(json_t *peers, FILE *out);
void cli_print_stats(json_t *stats, FILE *out);
/* The Prometheus text exposition format of a stats result (status may be NULL). */
void cli_print_prometheus(json_t *stats, json_t *status, FILE *out);
/* One event of the stream as a line of text, with its time of day: `started` is softsad's
 * start by the wall clock (events carry seconds since then), or < 0 for the time it arrived. */
void cli_print_event(json_t *ev, double started, FILE *out);
/* softsa monitor's refresh: {"status","peers","soft","sas","stats"} results, all of it (no
 * terminal to fit); and its lines of counters from a stats result. */
void cli_print_monitor(json_t *all, FILE *out);
void cli_print_counters(json_t *stats, FILE *out);
/* softsa explain --live: the daemon's explain result for the packet given as n operands a
 * (SRC DST [PROTO [SPORT DPORT]]) in direction dir ("in" or "out"). */
void cli_print_explain_live(json_t *r, const char *dir, int n, char **a, FILE *out);

#endif
