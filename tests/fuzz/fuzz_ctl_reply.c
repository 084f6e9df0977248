/* libFuzzer target: softsa's side of the control protocol (doc/control.md).  The input is
 * what softsad sends back: its first line is read as ss_ctl_call reads a reply
 * (ss_ctl_reply_line) and interpreted as every command does (cli_ctl_result); the result
 * then goes through every printer (status, sas, soft, peers, stats, Prometheus, monitor,
 * explain --live), and each further line through softsa monitor's event printer. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/ctl.h"
#include "daemon/control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *sink;

static void print_result(json_t *r)
{
	cli_print_status(r, sink);
	cli_print_sas(r, sink);
	cli_print_soft(r, sink);
	cli_print_peers(r, sink);
	cli_print_stats(r, sink);
	cli_print_prometheus(r, r, sink);
	json_t *all = json_pack("{s:O, s:O, s:O, s:O, s:O}", "status", r, "peers", r, "soft", r, "sas", r,
				"stats", r);
	cli_print_monitor(all, sink);
	json_decref(all);
	static char *args[] = { "192.0.2.1", "192.0.2.2", "tcp", "1234", "80" };
	cli_print_explain_live(r, "in", 5, args, sink);
	cli_print_explain_live(r, "out", 2, args, sink);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!sink && !(sink = fopen("/dev/null", "w")))
		abort();
	/* An exact-size copy: reads past the end are ASan's to see. */
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	json_t *reply;
	char err[256], code[64];
	if (ss_ctl_reply_line(buf, size, &reply, err, sizeof(err)) && reply) {
		json_t *r = cli_ctl_result(reply, code, sizeof(code), err, sizeof(err));
		if (r) {
			print_result(r);
			json_decref(r);
		}
	}
	/* The event stream of softsa monitor --events: one JSON object per line. */
	const char *p = memchr(buf, '\n', size);
	while (p) {
		const char *line = p + 1, *end = size ? memchr(line, '\n', (size_t)(buf + size - line)) : NULL;
		if (!end)
			break;
		json_t *ev = json_loadb(line, (size_t)(end - line), 0, NULL);
		if (json_object_get(ev, "event"))
			cli_print_event(ev, -1, sink);
		json_decref(ev);
		p = end;
	}
	free(buf);
	return 0;
}
