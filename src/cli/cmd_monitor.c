/* softsa monitor: a live view of softsad refreshing in place, like the Windows IP Security
 * Monitor (status, peers, soft associations, SAs), or with --events the event stream.
 * Ctrl-C (or SIGTERM) ends it with status 0; the daemon going away ends it with status 1. */
#include "cli/ctl.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* SIGINT and SIGTERM set `stop` and are blocked except inside ppoll, so a signal can
 * never slip in between checking `stop` and going to sleep. */
static void catch_signals(sigset_t *orig)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, orig);
}

/* Waits for fd (or just sleeps with fd < 0); false when a signal asked us to stop. */
static bool wait_fd(int fd, double seconds, const sigset_t *orig)
{
	if (stop)
		return false;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct timespec ts = { .tv_sec = (time_t)seconds, .tv_nsec = (long)((seconds - (double)(time_t)seconds) * 1e9) };
	int r = ppoll(fd >= 0 ? &p : NULL, fd >= 0 ? 1 : 0, seconds < 0 ? NULL : &ts, orig);
	return !(r < 0 && errno == EINTR && stop) && !stop;
}

/* One refresh: every view's result, or NULL with err filled. */
static json_t *snapshot(const cli_ctl_opts *o, char *err, size_t errlen)
{
	static const char *const views[] = { "status", "peers", "soft", "sas", "stats" };
	json_t *all = json_object();
	for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++) {
		json_t *r = cli_ctl_try(o, views[i], NULL, err, errlen);
		if (!r) {
			json_decref(all);
			return NULL;
		}
		json_object_set_new(all, views[i], r);
	}
	return all;
}

/* The counters an administrator watches, on four lines (softsa stats has them all). */
static void print_counters(json_t *st, bool narrow, FILE *out)
{
	json_t *n = json_object_get(st, "negotiations"), *so = json_object_get(st, "soft");
	json_t *p = json_object_get(st, "packets"), *esp = json_object_get(st, "esp");
	json_t *err = json_object_get(esp, "errors"), *v;
	const char *key;
	fprintf(out, narrow ? "negotiations: %lld started, %lld secured, %lld silent, %lld unreachable, %lld refused\n"
			    : "negotiations: %lld started, %lld secured, %lld peer-silent, %lld peer-unreachable, %lld peer-refused\n",
		cli_int(n, "started"), cli_int(n, "secured"), cli_int(n, "peer_silent"), cli_int(n, "peer_unreachable"),
		cli_int(n, "peer_refused"));
	fprintf(out, "soft associations: %lld now, %lld created, %lld expired, %lld upgraded\n", cli_int(so, "now"),
		cli_int(so, "created"), cli_int(so, "expired"), cli_int(so, "upgraded"));
	fprintf(out, narrow ? "packets: %lld held, %lld released clear, %lld through an SA, %lld dropped held\n"
			    : "packets: %lld held, %lld released in the clear, %lld through an SA, %lld dropped while held\n",
		cli_int(p, "held"), cli_int(p, "released_clear"), cli_int(p, "released_sa"), cli_int(p, "held_dropped"));
	/* Saturating: the daemon's counters are far from the limit, a lying reply is not. */
	long long total = 0;
	json_object_foreach(err, key, v) {
		long long x = cli_num(v), sum;
		if (__builtin_add_overflow(total, x, &sum))
			sum = x > 0 ? LLONG_MAX : LLONG_MIN;
		total = sum;
	}
	fprintf(out, "ESP: %lld packets out, %lld in, %lld errors", cli_int(esp, "packets_out"), cli_int(esp, "packets_in"),
		total);
	const char *sep = " (";
	json_object_foreach(err, key, v) {
		if (json_number_value(v) > 0) {
			fprintf(out, "%s%s %lld", sep, key, cli_num(v));
			sep = ", ";
		}
	}
	fprintf(out, "%s\n", *sep == ',' ? ")" : "");
}

/* The view in sections, each rendered on its own so that a small terminal can be given a
 * part of each list rather than lose the header off the top or the counters off the bottom. */
enum { SEC_HEAD, SEC_PEERS, SEC_SOFT, SEC_SAS, SEC_STATS, N_SEC };

typedef struct section {
	char *buf;
	size_t len;
	const char *more; /* lists: the command that shows them all */
} section;

/* Narrow forms of the peers and soft tables for a terminal under 100 columns: the remote
 * side, and what an administrator watches; `softsa peers` and `softsa soft` have every column. */
static void narrow_peers(json_t *r, FILE *out)
{
	json_t *arr = json_object_get(r, "peers"), *p;
	size_t i;
	if (!json_array_size(arr)) {
		fprintf(out, "no peers\n");
		return;
	}
	static const char *const h[] = { "REMOTE", "STATE", "TRY", "SINCE", "RULE", "HELD", "LAST OUTCOME" };
	cli_table *t = cli_table_new(7, h);
	json_array_foreach(arr, i, p) {
		char att[24], since[32], held[24];
		snprintf(att, sizeof(att), "%lld", cli_int(p, "attempt"));
		snprintf(held, sizeof(held), "%lld", cli_int(p, "held"));
		const char *row[] = { cli_str(p, "remote", "?"), cli_str(p, "state", "?"), att,
				      cli_fmt_dur(cli_int(p, "since"), since, sizeof(since)), cli_str(p, "rule", "-"), held,
				      cli_str(p, "last_outcome", "-") };
		cli_table_add(t, row);
	}
	cli_table_print(t, out);
	cli_table_free(t);
}

static void narrow_soft(json_t *r, FILE *out)
{
	json_t *arr = json_object_get(r, "soft"), *s;
	size_t i;
	if (!json_array_size(arr)) {
		fprintf(out, "no soft associations\n");
		return;
	}
	static const char *const h[] = { "REMOTE", "RULE", "WHY", "AGE", "EXPIRES", "PACKETS" };
	cli_table *t = cli_table_new(6, h);
	json_array_foreach(arr, i, s) {
		char age[32], exp[32], pk[32] = "-";
		if (json_object_get(s, "packets"))
			snprintf(pk, sizeof(pk), "%lld", cli_int(s, "packets"));
		const char *row[] = { cli_str(s, "remote", "?"), cli_str(s, "rule", "-"), cli_str(s, "reason", "-"),
				      cli_fmt_dur(cli_int(s, "age"), age, sizeof(age)),
				      cli_fmt_dur(cli_int(s, "expires_in"), exp, sizeof(exp)), pk };
		cli_table_add(t, row);
	}
	cli_table_print(t, out);
	cli_table_free(t);
}

/* The header on two lines: time, daemon, policy and ports. */
static void narrow_head(json_t *s, const char *now, FILE *out)
{
	char up[32];
	json_t *ports = json_object_get(s, "ike_ports");
	fprintf(out, "softsa monitor %s  softsad %s pid %lld up %s  (Ctrl-C quits)\n", now, cli_str(s, "version", "?"),
		cli_int(s, "pid"), cli_fmt_dur(cli_int(s, "uptime_ms") / 1000, up, sizeof(up)));
	fprintf(out, "policy %s (%lld rules), IKE on UDP %lld and %lld\n", cli_str(s, "policy", "?"), cli_int(s, "rules"),
		cli_int(ports, "ike"), cli_int(ports, "natt"));
}

static void render_section(json_t *all, int i, bool narrow, FILE *out)
{
	char now[32];
	time_t t;
	switch (i) {
	case SEC_HEAD:
		t = time(NULL);
		strftime(now, sizeof(now), narrow ? "%H:%M:%S" : "%Y-%m-%d %H:%M:%S", localtime(&t));
		if (narrow) {
			narrow_head(json_object_get(all, "status"), now, out);
			break;
		}
		fprintf(out, "softsa monitor  %s  (Ctrl-C to quit)\n", now);
		cli_print_status(json_object_get(all, "status"), out);
		break;
	case SEC_PEERS:
		fprintf(out, "Peers\n");
		(narrow ? narrow_peers : cli_print_peers)(json_object_get(all, "peers"), out);
		break;
	case SEC_SOFT:
		fprintf(out, "Soft associations\n");
		(narrow ? narrow_soft : cli_print_soft)(json_object_get(all, "soft"), out);
		break;
	case SEC_SAS:
		fprintf(out, "Security associations\n");
		cli_print_sas(json_object_get(all, "sas"), out);
		break;
	default:
		fprintf(out, "Statistics\n");
		print_counters(json_object_get(all, "stats"), narrow, out);
	}
}

static size_t count_lines(const char *b, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += b[i] == '\n';
	return n;
}

/* Writes the first `keep` lines of a section, each cut to `cols` columns (0: as they are). */
static void put_lines(const section *s, size_t keep, int cols, FILE *out)
{
	const char *p = s->buf, *end = s->buf + s->len;
	for (size_t n = 0; n < keep && p < end; n++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
		fprintf(out, "%.*s\n", cols > 0 && l > (size_t)cols ? cols : (int)l, p);
		p = nl ? nl + 1 : end;
	}
}

/* rows 0: everything.  Else the header and the counters always, the lists share what is left
 * (each at least its title and one line), a list cut short says how many lines it lost, and
 * blank lines between sections only when all fits.  The last row stays empty: writing into
 * it would scroll the screen. */
static void render_fit(json_t *all, int cols, int rows, FILE *out)
{
	section sec[N_SEC] = { [SEC_PEERS].more = "softsa peers", [SEC_SOFT].more = "softsa soft",
			       [SEC_SAS].more = "softsa sas" };
	size_t lines[N_SEC], keep[N_SEC], total = 0;
	for (int i = 0; i < N_SEC; i++) {
		FILE *m = open_memstream(&sec[i].buf, &sec[i].len);
		if (m) {
			render_section(all, i, cols > 0 && cols < 99, m);
			fclose(m);
		}
		keep[i] = lines[i] = sec[i].buf ? count_lines(sec[i].buf, sec[i].len) : 0;
		total += lines[i];
	}
	bool gaps = !rows || total + N_SEC - 1 <= (size_t)rows - 1;
	if (!gaps) {
		long room = (long)rows - 1 - (long)lines[SEC_HEAD] - (long)lines[SEC_STATS];
		/* Water-filling: lists smaller than a fair share keep all of it, the rest split. */
		int left = 3;
		bool done[N_SEC] = { false };
		for (bool again = true; again && left;) {
			again = false;
			for (int i = SEC_PEERS; i <= SEC_SAS; i++)
				if (!done[i] && (long)lines[i] <= room / left) {
					room -= (long)lines[i];
					done[i] = true;
					left--;
					again = true;
				}
		}
		for (int i = SEC_PEERS; i <= SEC_SAS; i++) {
			if (done[i])
				continue;
			long share = left ? room / left : 0;
			keep[i] = share < 2 ? 2 : (size_t)share;
			room -= (long)keep[i];
			left--;
		}
	}
	for (int i = 0; i < N_SEC; i++) {
		if (!sec[i].buf)
			continue;
		if (i && gaps)
			fputc('\n', out);
		if (keep[i] < lines[i]) {
			put_lines(&sec[i], keep[i] - 1, cols, out);
			char more[96];
			snprintf(more, sizeof(more), "  ... %zu more lines: %s lists them all", lines[i] - keep[i] + 1,
				 sec[i].more);
			fprintf(out, "%.*s\n", cols > 0 ? cols : (int)sizeof(more), more);
		} else {
			put_lines(&sec[i], lines[i], cols, out);
		}
		free(sec[i].buf);
	}
}

/* The terminal's size, else $COLUMNS x $LINES, else 0 x 0 (no limit: a pipe gets it all).
 * Lines are cut one short of the width: a character in the last column wraps on some
 * terminals. */
static void term_size(bool tty, int *cols, int *rows)
{
	struct winsize ws;
	*cols = *rows = 0;
	if (tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col && ws.ws_row) {
		*cols = ws.ws_col - 1;
		*rows = ws.ws_row;
		return;
	}
	const char *c = getenv("COLUMNS"), *l = getenv("LINES");
	if (c && l && atoi(c) > 20 && atoi(l) > 10) {
		*cols = atoi(c) - 1;
		*rows = atoi(l);
	}
}

/* On a terminal the view takes the alternate screen, as top(1) does, and gives the screen
 * back as it was when it ends, however it ends. */
static void screen(bool tty, bool on)
{
	if (tty) {
		fputs(on ? "\033[?1049h\033[?25l" : "\033[?25h\033[?1049l", stdout);
		fflush(stdout);
	}
}

static int monitor_view(const cli_ctl_opts *o, const sigset_t *orig)
{
	bool tty = isatty(STDOUT_FILENO) && !o->json;
	screen(tty, true);
	for (long n = 0;; n++) {
		char err[800];
		json_t *all = snapshot(o, err, sizeof(err));
		if (!all) {
			screen(tty, false);
			fprintf(stderr, "softsa monitor: %s\n", err);
			return CLI_FAIL;
		}
		if (o->json) {
			char *s = json_dumps(all, JSON_COMPACT | JSON_PRESERVE_ORDER);
			if (s)
				puts(s);
			free(s);
		} else {
			/* Rendered first, then written at once: the screen never shows half a view. */
			char *buf = NULL;
			size_t len = 0;
			FILE *m = open_memstream(&buf, &len);
			if (m) {
				int cols, rows;
				term_size(tty, &cols, &rows);
				render_fit(all, cols, rows, m);
				fclose(m);
				fputs(tty ? "\033[H\033[2J" : (n ? "\n" : ""), stdout);
				fwrite(buf, 1, len, stdout);
				free(buf);
			}
		}
		fflush(stdout);
		json_decref(all);
		if ((o->count && n + 1 >= o->count) || !wait_fd(-1, o->interval, orig)) {
			screen(tty, false);
			return CLI_OK;
		}
	}
}

static int connect_control(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "softsa monitor: control socket path too long: %s\n", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;
	int e = errno;
	if (e == ENOENT || e == ECONNREFUSED)
		fprintf(stderr, "softsa monitor: softsad is not running (nothing answers on %s)\n", path);
	else if (e == EACCES || e == EPERM)
		fprintf(stderr, "softsa monitor: %s: permission denied (the control socket is root's: run as root)\n", path);
	else
		fprintf(stderr, "softsa monitor: %s: %s\n", path, strerror(e));
	if (fd >= 0)
		close(fd);
	return -1;
}

/* One line from the daemon: the subscribe reply first, then events. */
static bool handle_line(const cli_ctl_opts *o, char *line, size_t len, bool *subscribed, long *events,
			double started)
{
	json_error_t je;
	json_t *j = json_loadb(line, len, 0, &je);
	if (!j) {
		fprintf(stderr, "softsa monitor: softsad sent a line that is not JSON: %s\n", je.text);
		return true;
	}
	bool ok = true;
	if (!*subscribed) {
		if (json_is_true(json_object_get(j, "ok"))) {
			*subscribed = true;
			if (!o->json)
				printf("subscribed to %s; events follow (Ctrl-C to quit)\n", o->control);
		} else {
			json_t *e = json_object_get(j, "error");
			fprintf(stderr, "softsa monitor: %s: %s\n", cli_str(e, "code", "error"), cli_str(e, "message", "refused"));
			ok = false;
		}
	} else if (json_object_get(j, "event")) {
		if (o->json)
			printf("%.*s\n", (int)len, line);
		else
			cli_print_event(j, started, stdout);
		fflush(stdout);
		(*events)++;
	}
	json_decref(j);
	return ok;
}

/* When softsad started, by the wall clock (its events carry seconds since then); -1 when
 * it does not say. */
static double daemon_started(const cli_ctl_opts *o)
{
	char err[256];
	json_t *st = cli_ctl_try(o, "status", NULL, err, sizeof(err));
	if (!st || !json_object_get(st, "uptime_ms")) {
		json_decref(st);
		return -1;
	}
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	double t = (double)now.tv_sec + now.tv_nsec / 1e9 - (double)cli_int(st, "uptime_ms") / 1000.0;
	json_decref(st);
	return t;
}

static int monitor_events(const cli_ctl_opts *o, const sigset_t *orig)
{
	double started = o->json ? -1 : daemon_started(o);
	int fd = connect_control(o->control);
	if (fd < 0)
		return CLI_FAIL;
	static const char req[] = "{\"v\":1,\"cmd\":\"subscribe\"}\n";
	int rc = CLI_FAIL;
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	if (!buf || send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof(req) - 1)) {
		fprintf(stderr, "softsa monitor: sending to softsad: %s\n", strerror(errno));
		goto out;
	}
	bool subscribed = false;
	long events = 0;
	for (;;) {
		char *nl;
		while ((nl = memchr(buf, '\n', len))) {
			size_t l = (size_t)(nl - buf);
			bool ok = handle_line(o, buf, l, &subscribed, &events, started);
			memmove(buf, nl + 1, len - l - 1);
			len -= l + 1;
			if (!ok)
				goto out;
			if (o->count && events >= o->count) {
				rc = CLI_OK;
				goto out;
			}
		}
		if (len == cap) {
			fprintf(stderr, "softsa monitor: an event longer than %zu bytes\n", cap);
			goto out;
		}
		if (!wait_fd(fd, -1, orig)) {
			rc = CLI_OK;
			goto out;
		}
		ssize_t r = recv(fd, buf + len, cap - len, MSG_DONTWAIT);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r <= 0) {
			fprintf(stderr, "softsa monitor: softsad closed the connection (stopped?)\n");
			goto out;
		}
		len += (size_t)r;
	}
out:
	free(buf);
	close(fd);
	return rc;
}

void cli_print_event(json_t *ev, double started, FILE *out)
{
	/* The time of day: the daemon's start plus the event's seconds since then, or the time it
	 * arrived when the start is not known. */
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	double at = started >= 0 ? started + json_number_value(json_object_get(ev, "time"))
				 : (double)now.tv_sec + now.tv_nsec / 1e9;
	time_t secs = (time_t)at;
	struct tm tm;
	char hms[16];
	strftime(hms, sizeof(hms), "%H:%M:%S", localtime_r(&secs, &tm));
	fprintf(out, "%s.%03d %-19s", hms, (int)((at - (double)secs) * 1000), cli_str(ev, "event", "?"));
	if (json_object_get(ev, "local") || json_object_get(ev, "remote"))
		fprintf(out, " %s <-> %s", cli_str(ev, "local", "?"), cli_str(ev, "remote", "?"));
	const char *key;
	json_t *v;
	json_object_foreach(ev, key, v) {
		if (!strcmp(key, "v") || !strcmp(key, "event") || !strcmp(key, "time") || !strcmp(key, "local") ||
		    !strcmp(key, "remote"))
			continue;
		if (json_is_string(v))
			fprintf(out, " %s=%s", key, json_string_value(v));
		else if (json_is_integer(v))
			fprintf(out, " %s=%lld", key, (long long)json_integer_value(v));
		else if (json_is_real(v))
			fprintf(out, " %s=%g", key, json_real_value(v));
		else if (json_is_boolean(v))
			fprintf(out, " %s=%s", key, json_is_true(v) ? "yes" : "no");
	}
	fprintf(out, "\n");
}

int cmd_monitor(const cli_cmd *cmd, int argc, char **argv)
{
	cli_ctl_opts o;
	int rc;
	if (cli_ctl_getopt(cmd, argc, argv, CLI_OPT_MONITOR, 0, 0, &o, &rc) < 0)
		return rc;
	sigset_t orig;
	catch_signals(&orig);
	rc = o.events ? monitor_events(&o, &orig) : monitor_view(&o, &orig);
	sigprocmask(SIG_SETMASK, &orig, NULL);
	return rc;
}

/* The whole view with no terminal to fit (also what tests/fuzz/fuzz_ctl_reply renders). */
void cli_print_monitor(json_t *all, FILE *out)
{
	render_fit(all, 0, 0, out);
}

void cli_print_counters(json_t *st, FILE *out)
{
	print_counters(st, false, out);
}
