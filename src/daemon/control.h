/* The control socket: newline-delimited JSON over a Unix stream socket (doc/control.md).
 *
 *   request  {"v":1, "id":7, "cmd":"status", ...arguments}
 *   reply    {"v":1, "id":7, "ok":true, "result":{...}}
 *            {"v":1, "id":7, "ok":false, "error":{"code":"unknown-command", "message":"..."}}
 *   event    {"v":1, "event":"soft-created", "time":..., ...}   (after "subscribe")
 *
 * A client that sends garbage gets an error reply; one that sends a line longer than the
 * frame limit is told so and disconnected; one that stops reading is disconnected when its
 * output backlog passes the limit.  None of it disturbs the daemon or other clients. */
#ifndef SS_DAEMON_CONTROL_H
#define SS_DAEMON_CONTROL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "daemon/loop.h"

#define SS_CTL_VERSION 1
#define SS_CTL_MAX_FRAME (64 * 1024)
#define SS_CTL_MAX_BACKLOG (4 * 1024 * 1024)
#define SS_CTL_MAX_CLIENTS 64

typedef struct ss_ctl ss_ctl;

/* A command handler: fill *result (a new reference) and return NULL, or return an error
 * code string ("bad-argument", ...) and set *message (static or owned by nobody). */
typedef const char *(*ss_ctl_handler)(void *ctx, json_t *req, json_t **result, const char **message);

typedef struct ss_ctl_command {
	const char *name;
	ss_ctl_handler fn;
	const char *help;
} ss_ctl_command;

/* The socket-free part of the server, also what fuzz_ctl_request drives.
 *
 * Framing: appends the n bytes received to the line buffer in (SS_CTL_MAX_FRAME bytes, of
 * which *in_len are used) and calls fn for each complete non-empty line.  Returns 1 when all
 * is consumed, 0 when fn returned false (the client is gone), -1 when a line is longer than
 * SS_CTL_MAX_FRAME. */
typedef bool (*ss_ctl_line_fn)(void *arg, const char *line, size_t len);
int ss_ctl_feed(char *in, size_t *in_len, const char *buf, size_t n, ss_ctl_line_fn fn, void *arg);
/* One request line: the reply object (new reference), from the built-in commands, from cmds
 * (handlers called with ctx), or an error; *subscribe set by "subscribe". */
json_t *ss_ctl_request(const ss_ctl_command *cmds, size_t n_cmds, void *ctx, const char *line,
		       size_t len, bool *subscribe);

/* Listens on path (mode 0600; a stale socket file is replaced, a live one refused). */
ss_ctl *ss_ctl_open(ss_loop *loop, const char *path, const ss_ctl_command *cmds, size_t n_cmds,
		    void *ctx, char *err, size_t errlen);
void ss_ctl_close(ss_ctl *c);
/* Sends an event to every subscribed client; steals the reference. */
void ss_ctl_publish(ss_ctl *c, const char *event, json_t *fields);

typedef struct ss_ctl_stats {
	unsigned long requests, errors, oversized, dropped_slow, clients, clients_now;
} ss_ctl_stats;
ss_ctl_stats ss_ctl_get_stats(const ss_ctl *c);

/* Client side, for the CLI: one request, one reply.  Returns the reply (new reference) or
 * NULL with a message in err ("softsad is not running (no /run/softsa/control)", ...). */
json_t *ss_ctl_call(const char *path, json_t *request, int timeout_ms, char *err, size_t errlen);
/* Its reading of what came back: false while the first line of the len bytes in is not
 * complete; then *reply is the line's JSON value (new reference), or NULL with err saying
 * why.  Also what fuzz_ctl_reply drives. */
bool ss_ctl_reply_line(const char *in, size_t len, json_t **reply, char *err, size_t errlen);

#endif
