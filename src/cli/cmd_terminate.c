/* softsa terminate PEER: delete the IKE SAs (and their CHILD SAs) with a peer.  The CHILD
 * SAs go at once; the IKE SAs wait for the peer to answer their DELETE, and the command waits
 * with them (at most as long as softsad will), so that when it returns the SAs are gone or it
 * says that they are not and why. */
#include "cli/ctl.h"

#include <time.h>

static bool sa_listed(json_t *sas, json_t *ids)
{
	size_t i, k;
	json_t *s, *id;
	json_array_foreach(json_object_get(sas, "ike_sas"), i, s)
		json_array_foreach(ids, k, id)
			if (cli_int(s, "id") == json_integer_value(id))
				return true;
	return false;
}

static void nap_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&t, NULL);
}

/* Polls `sas` until the IKE SAs being deleted are gone or softsad's own wait is over. */
static bool wait_gone(const cli_ctl_opts *o, json_t *waiting, long long wait_ms)
{
	json_t *ids = json_array(), *w;
	size_t i;
	json_array_foreach(waiting, i, w)
		json_array_append_new(ids, json_integer(cli_int(w, "id")));
	bool gone = false;
	for (long long t = 0; !gone && t <= wait_ms + 1000; t += 100) {
		char err[256];
		json_t *sas = cli_ctl_try(o, "sas", NULL, err, sizeof(err));
		gone = sas && !sa_listed(sas, ids);
		json_decref(sas);
		if (!gone)
			nap_ms(100);
	}
	json_decref(ids);
	return gone;
}

int cmd_terminate(const cli_cmd *cmd, int argc, char **argv)
{
	json_t *r = NULL;
	cli_ctl_opts o;
	int rc = cli_peer_command(cmd, argc, argv, "terminate", &r, &o);
	if (rc != CLI_OK)
		return rc;
	if (o.json) {
		cli_print_json(r);
		return CLI_OK;
	}
	const char *peer = cli_str(r, "peer", "the peer");
	long long n = cli_int(r, "terminated");
	json_t *waiting = json_object_get(r, "waiting");
	long long wait_ms = 0;
	size_t i;
	json_t *w;
	json_array_foreach(waiting, i, w)
		if (cli_int(w, "wait_ms") > wait_ms)
			wait_ms = cli_int(w, "wait_ms");
	rc = CLI_OK;
	if (json_array_size(waiting)) {
		char dur[32];
		printf("%lld IKE SA%s with %s: CHILD SAs deleted, waiting up to %s for the peer to answer the DELETE\n",
		       n, n == 1 ? "" : "s", peer, cli_fmt_dur((wait_ms + 999) / 1000, dur, sizeof(dur)));
		fflush(stdout);
		if (wait_gone(&o, waiting, wait_ms)) {
			printf("deleted\n");
		} else {
			printf("still listed by softsad ('softsa sas' shows it as deleting)\n");
			rc = CLI_FAIL;
		}
	} else if (n) {
		printf("%lld IKE SA%s with %s deleted\n", n, n == 1 ? "" : "s", peer);
	} else {
		printf("no established IKE SA with %s\n", peer);
	}
	if (cli_int(r, "connecting"))
		printf("a negotiation with %s is still under way ('softsa peers' follows it)\n", peer);
	json_decref(r);
	return rc;
}
