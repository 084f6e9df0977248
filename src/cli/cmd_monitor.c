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
void cli_print_counters(json_t *st, FILE *out)
{
	json_t *n = json_object_get(st, "negotiations"), *so = json_object_get(st, "soft");
	json_t *p = json_object_get(st, "packets"), *esp = json_object_get(st, "esp");
	json_t *err = json_object_get(esp, "errors"), *v;
	const char *key;
	fprintf(out, "negotiations: %lld started, %lld secured, %lld peer-silent, %lld peer-unreachable, %lld peer-refused\n",
		cli_int(n, "started"), cli_int(n, "secured"), cli_int(n, "peer_silent"), cli_int(n, "peer_unreachable"),
		cli_int(n, "peer_refused"));
	fprintf(out, "soft associations: %lld now, %lld created, %lld expired, %lld upgraded\n", cli_int(so, "now"),
		cli_int(so, "created"), cli_int(so, "expired"), cli_int(so, "upgraded"));
	fprintf(out, "packets: %lld held, %lld released in the clear, %lld through an SA, %lld dropped while held\n",
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

void cli_print_monitor(json_t *all, FILE *out)
{
	char now[32];
	time_t t = time(NULL);
	strftime(now, sizeof(now), "%Y-%m-%d %H:%M:%S", localtime(&t));
	fprintf(out, "softsa monitor  %s  (Ctrl-C to quit)\n\n", now);
	cli_print_status(json_object_get(all, "status"), out);
	fprintf(out, "\nPeers\n");
	cli_print_peers(json_object_get(all, "peers"), out);
	fprintf(out, "\nSoft associations\n");
	cli_print_soft(json_object_get(all, "soft"), out);
	fprintf(out, "\nSecurity associations\n");
	cli_print_sas(json_object_get(all, "sas"), out);
	fprintf(out, "\nStatistics\n");
	cli_print_counters(json_object_get(all, "stats"), out);
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
				cli_print_monitor(all, m);
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
static bool handle_line(const cli_ctl_opts *o, char *line, size_t len, bool *subscribed, long *events)
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
			cli_print_event(j, stdout);
		fflush(stdout);
		(*events)++;
	}
	json_decref(j);
	return ok;
}

static int monitor_events(const cli_ctl_opts *o, const sigset_t *orig)
{
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
			bool ok = handle_line(o, buf, l, &subscribed, &events);
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

void cli_print_event(json_t *ev, FILE *out)
{
	json_t *t = json_object_get(ev, "time");
	fprintf(out, "[%9.3f] %-19s", json_number_value(t), cli_str(ev, "event", "?"));
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
