/* A stand-in softsad for the CLI's tests: the real control server (src/daemon/control.c)
 * answering every command with a canned reply (the examples of doc/control.md, extracted
 * by ctl_examples.py), publishing events to subscribers, and logging each request.
 *
 *   fake_softsad SOCKET REPLIES.json REQUESTS.log [--fail CMD]...
 *
 * REPLIES maps a command to its reply ({"ok":true,"result":{...}}); "CMD!error" is the
 * error reply used when started with --fail CMD.  Exits 0 on SIGTERM or SIGINT. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/control.h"

static json_t *replies;
static FILE *log_file;
static const char *failing[8];
static size_t n_failing;
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static bool fails(const char *cmd)
{
	for (size_t i = 0; i < n_failing; i++)
		if (strcmp(failing[i], cmd) == 0)
			return true;
	return false;
}

static const char *answer(void *ctx, json_t *req, json_t **result, const char **message)
{
	const char *cmd = json_string_value(json_object_get(req, "cmd"));
	char *s = json_dumps(req, JSON_COMPACT | JSON_SORT_KEYS);
	if (s) {
		fprintf(log_file, "%s\n", s);
		fflush(log_file);
		free(s);
	}
	char key[64];
	snprintf(key, sizeof(key), "%s%s", cmd, fails(cmd) ? "!error" : "");
	json_t *r = json_object_get(replies, key);
	if (json_is_true(json_object_get(r, "ok"))) {
		*result = json_deep_copy(json_object_get(r, "result"));
		return NULL;
	}
	json_t *e = json_object_get(r, "error");
	*message = json_string_value(json_object_get(e, "message"));
	const char *code = json_string_value(json_object_get(e, "code"));
	return code ? code : "no-example";
}

static const ss_ctl_command cmds[] = {
	{ "status", answer, "canned" }, { "stats", answer, "canned" }, { "sas", answer, "canned" },
	{ "soft", answer, "canned" }, { "peers", answer, "canned" }, { "explain", answer, "canned" },
	{ "reload", answer, "canned" }, { "initiate", answer, "canned" }, { "terminate", answer, "canned" },
	{ "flush-soft", answer, "canned" },
};

/* The events a subscriber sees, one every 50 ms, in a loop. */
static void publish(ss_ctl *c, unsigned n)
{
	switch (n % 3) {
	case 0:
		ss_ctl_publish(c, "soft-created", json_pack("{s:f, s:s, s:s, s:s, s:i}", "time", 1.5, "local",
				"10.89.0.1", "remote", "10.89.0.3", "rule", "all-ip", "expires_in", 300));
		break;
	case 1:
		ss_ctl_publish(c, "negotiation-ended", json_pack("{s:f, s:s, s:s, s:s, s:s}", "time", 2.25, "local",
				"10.89.0.1", "remote", "10.89.0.4", "outcome", "peer-silent", "reason",
				"no answer to any attempt"));
		break;
	default:
		ss_ctl_publish(c, "policy-reloaded", json_pack("{s:f, s:s, s:i}", "time", 3.0, "policy", "corp",
				"rules", 3));
	}
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: %s SOCKET REPLIES.json REQUESTS.log [--fail CMD]...\n", argv[0]);
		return 2;
	}
	for (int i = 4; i + 1 < argc && n_failing < 8; i += 2)
		if (strcmp(argv[i], "--fail") == 0)
			failing[n_failing++] = argv[i + 1];
	json_error_t je;
	replies = json_load_file(argv[2], 0, &je);
	log_file = fopen(argv[3], "a");
	if (!replies || !log_file) {
		fprintf(stderr, "fake_softsad: cannot read %s or write %s\n", argv[2], argv[3]);
		return 1;
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	ss_loop *loop = ss_loop_new();
	char err[256];
	ss_ctl *c = loop ? ss_ctl_open(loop, argv[1], cmds, sizeof(cmds) / sizeof(cmds[0]), NULL, err, sizeof(err)) : NULL;
	if (!c) {
		fprintf(stderr, "fake_softsad: %s\n", loop ? err : "no loop");
		return 1;
	}
	unsigned n = 0;
	ss_time next = ss_now_ms() + 50;
	while (!stop) {
		ss_loop_run_once(loop, next, 50);
		if (ss_now_ms() >= next) {
			publish(c, n++);
			next = ss_now_ms() + 50;
		}
	}
	ss_ctl_close(c);
	ss_loop_free(loop);
	json_decref(replies);
	fclose(log_file);
	return 0;
}
