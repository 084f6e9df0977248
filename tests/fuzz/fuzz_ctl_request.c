/* libFuzzer target: softsad's side of the control protocol (doc/control.md).  The input is
 * what one client writes on the socket: cut into recv(2) pieces (the first byte sets their
 * size), framed into lines (ss_ctl_feed, 64 KiB limit), each line answered by
 * ss_ctl_request with the daemon's built-ins and command names, whose handlers read their
 * arguments as the daemon does (daemon/ctlargs.h; explain runs the built-in "server"
 * policy), and each reply encoded as it would be sent.  Every complete line is answered,
 * however many the input holds: the target counts the lines on its own and checks that
 * ss_ctl_feed dispatched exactly those (up to a line over the frame limit, where the server
 * closes the connection; a last line without its newline waits for more, as on a socket). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "daemon/control.h"
#include "daemon/ctlargs.h"
#include "policy/classify.h"
#include "policy/explain.h"
#include "policy/load.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static ss_policy *pol;
static ss_classifier *cls;

static const char *h_none(void *ctx, json_t *req, json_t **result, const char **message)
{
	*result = json_object();
	return NULL;
}

static const char *h_explain(void *ctx, json_t *req, json_t **result, const char **message)
{
	ss_pkt_key k;
	const char *err = NULL;
	if (!dm_arg_packet(req, &k, &err)) {
		*message = err;
		return "bad-argument";
	}
	*result = ss_explain(pol, cls, &k);
	return *result ? NULL : "internal";
}

static const char *h_peer(void *ctx, json_t *req, json_t **result, const char **message)
{
	ss_addr peer;
	if (!dm_arg_peer(req, &peer)) {
		*message = "needs \"peer\": an address";
		return "bad-argument";
	}
	char b[SS_ADDR_STRLEN];
	*result = json_pack("{s:s}", "peer", ss_addr_fmt(&peer, b));
	return NULL;
}

/* softsad's command names (src/daemon/commands.c), so that dispatch takes the same paths. */
static const ss_ctl_command cmds[] = {
	{ "status", h_none, "" },	 { "stats", h_none, "" },	{ "sas", h_none, "" },
	{ "soft", h_none, "" },		 { "peers", h_none, "" },	{ "explain", h_explain, "" },
	{ "reload", h_none, "" },	 { "initiate", h_peer, "" },	{ "terminate", h_peer, "" },
	{ "flush-soft", h_none, "" },
};

struct conn {
	bool subscribed;
	size_t lines;
};

static bool on_line(void *arg, const char *line, size_t len)
{
	struct conn *cn = arg;
	cn->lines++;
	json_t *reply = ss_ctl_request(cmds, sizeof(cmds) / sizeof(cmds[0]), NULL, line, len, &cn->subscribed);
	if (!reply || !json_is_object(reply) || !json_object_get(reply, "ok"))
		__builtin_trap(); /* every line gets a reply that says whether it worked */
	char *s = json_dumps(reply, JSON_COMPACT);
	if (!s || strchr(s, '\n'))
		__builtin_trap(); /* one reply, one line */
	free(s);
	json_decref(reply);
	return true;
}

/* The non-empty lines ended by a newline that come before the first line longer than the
 * frame limit (complete or not): what the server must answer. */
static size_t lines_expected(const uint8_t *p, size_t n)
{
	size_t count = 0, len = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] != '\n') {
			if (++len > SS_CTL_MAX_FRAME)
				return count;
			continue;
		}
		count += len > 0;
		len = 0;
	}
	return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *in;
	if (!in) {
		ss_log_set_level(SS_LOG_ERR);
		ss_load_opts o = { .no_resolve = true, .skip_key_files = true, .psk_file = "fuzz.psk" };
		ss_load_error err;
		pol = ss_policy_builtin("server", &o, &err);
		cls = pol ? ss_classifier_build(pol) : NULL;
		in = malloc(SS_CTL_MAX_FRAME);
		if (!cls || !in)
			abort();
	}
	if (size < 1)
		return 0;
	size_t piece = (size_t)data[0] * 37 + 1, in_len = 0;
	struct conn cn = { false, 0 };
	for (size_t off = 1; off < size;) {
		size_t n = size - off < piece ? size - off : piece;
		if (ss_ctl_feed(in, &in_len, (const char *)data + off, n, on_line, &cn) < 0)
			break; /* frame-too-large: the server closes the connection */
		off += n;
	}
	if (cn.lines != lines_expected(data + 1, size - 1))
		__builtin_trap(); /* a request line left unanswered, or one answered twice */
	return 0;
}
