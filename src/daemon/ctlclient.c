/* The CLI's side of the control protocol: connect, send one line, read one line. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/clock.h"
#include "daemon/control.h"

static int connect_to(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "control socket path too long: %s", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;
		if (e == ENOENT || e == ECONNREFUSED)
			snprintf(err, errlen, "softsad is not running (nothing answers on %s)", path);
		else if (e == EACCES || e == EPERM)
			snprintf(err, errlen, "%s: permission denied (the control socket is root's: run as root)", path);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(e));
		close(fd);
		return -1;
	}
	return fd;
}

bool ss_ctl_reply_line(const char *in, size_t len, json_t **reply, char *err, size_t errlen)
{
	const char *nl = len ? memchr(in, '\n', len) : NULL;
	*reply = NULL;
	if (!nl)
		return false;
	json_error_t je;
	*reply = json_loadb(in, (size_t)(nl - in), 0, &je);
	if (!*reply)
		snprintf(err, errlen, "softsad sent a reply that is not JSON: %s", je.text);
	return true;
}

json_t *ss_ctl_call(const char *path, json_t *request, int timeout_ms, char *err, size_t errlen)
{
	int fd = connect_to(path, err, errlen);
	if (fd < 0)
		return NULL;
	char *s = json_dumps(request, JSON_COMPACT);
	json_t *reply = NULL;
	size_t cap = 65536, len = 0;
	char *in = malloc(cap);
	if (!s || !in) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	size_t n = strlen(s);
	s[n] = '\n';
	if (send(fd, s, n + 1, MSG_NOSIGNAL) != (ssize_t)(n + 1)) {
		snprintf(err, errlen, "sending to softsad: %s", strerror(errno));
		goto out;
	}
	ss_time end = ss_now_ms() + (ss_time)timeout_ms;
	for (;;) {
		if (ss_ctl_reply_line(in, len, &reply, err, errlen))
			break;
		ss_time now = ss_now_ms();
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (now >= end || poll(&p, 1, (int)(end - now)) <= 0) {
			snprintf(err, errlen, "softsad did not answer within %d ms", timeout_ms);
			break;
		}
		if (len == cap) {
			char *bigger = cap < (64u << 20) ? realloc(in, cap * 2) : NULL;
			if (!bigger) {
				snprintf(err, errlen, "reply too large");
				break;
			}
			in = bigger;
			cap *= 2;
		}
		ssize_t r = recv(fd, in + len, cap - len, 0);
		if (r <= 0) {
			snprintf(err, errlen, "softsad closed the connection");
			break;
		}
		len += (size_t)r;
	}
out:
	free(s);
	free(in);
	close(fd);
	return reply;
}
