#include "daemon/control.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/log.h"

struct client {
	int fd;
	bool subscribed;
	char *in;
	size_t in_len;
	char *out;
	size_t out_len, out_cap;
	bool closing; /* flush what is queued, then close */
};

struct ss_ctl {
	ss_loop *loop;
	int lfd;
	char *path;
	const ss_ctl_command *cmds;
	size_t n_cmds;
	void *ctx;
	struct client *clients[SS_CTL_MAX_CLIENTS];
	ss_ctl_stats st;
};

static void drop_client(ss_ctl *c, struct client *cl)
{
	for (size_t i = 0; i < SS_CTL_MAX_CLIENTS; i++)
		if (c->clients[i] == cl)
			c->clients[i] = NULL;
	ss_loop_del(c->loop, cl->fd);
	close(cl->fd);
	free(cl->in);
	free(cl->out);
	free(cl);
	c->st.clients_now--;
}

static void want_write(ss_ctl *c, struct client *cl, bool on)
{
	ss_loop_mod(c->loop, cl->fd, EPOLLIN | (on ? EPOLLOUT : 0));
}

/* Tries to send the backlog; false when the client is gone. */
static bool flush(ss_ctl *c, struct client *cl)
{
	while (cl->out_len) {
		ssize_t n = send(cl->fd, cl->out, cl->out_len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			drop_client(c, cl);
			return false;
		}
		memmove(cl->out, cl->out + n, cl->out_len - (size_t)n);
		cl->out_len -= (size_t)n;
	}
	if (!cl->out_len && cl->closing) {
		drop_client(c, cl);
		return false;
	}
	want_write(c, cl, cl->out_len > 0);
	return true;
}

/* Queues one JSON line; a client whose backlog passes the limit is not reading: drop it. */
static bool queue(ss_ctl *c, struct client *cl, json_t *msg)
{
	char *s = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	if (!s)
		return true;
	size_t n = strlen(s);
	if (cl->out_len + n + 1 > SS_CTL_MAX_BACKLOG) {
		free(s);
		c->st.dropped_slow++;
		SS_WARN("control", "client not reading its replies: disconnected");
		drop_client(c, cl);
		return false;
	}
	if (cl->out_len + n + 1 > cl->out_cap) {
		size_t cap = cl->out_cap ? cl->out_cap : 4096;
		while (cap < cl->out_len + n + 1)
			cap *= 2;
		char *o = realloc(cl->out, cap);
		if (!o) {
			free(s);
			drop_client(c, cl);
			return false;
		}
		cl->out = o;
		cl->out_cap = cap;
	}
	memcpy(cl->out + cl->out_len, s, n);
	cl->out[cl->out_len + n] = '\n';
	cl->out_len += n + 1;
	free(s);
	return flush(c, cl);
}

static json_t *error_reply(json_t *id, const char *code, const char *message)
{
	return json_pack("{s:i, s:O?, s:b, s:{s:s, s:s}}", "v", SS_CTL_VERSION, "id", id, "ok", 0,
			 "error", "code", code, "message", message ? message : code);
}

static const ss_ctl_command *find_cmd(const ss_ctl_command *cmds, size_t n_cmds, const char *name)
{
	for (size_t i = 0; i < n_cmds; i++)
		if (strcmp(cmds[i].name, name) == 0)
			return &cmds[i];
	return NULL;
}

/* Built-in commands every server answers, whatever the daemon registered. */
static json_t *builtin(const ss_ctl_command *cmds, size_t n_cmds, const char *cmd, bool *subscribe)
{
	if (strcmp(cmd, "subscribe") == 0) {
		*subscribe = true;
		return json_pack("{s:b}", "subscribed", 1);
	}
	if (strcmp(cmd, "help") == 0) {
		json_t *a = json_array();
		json_array_append_new(a, json_pack("{s:s, s:s}", "cmd", "subscribe", "help", "receive the event stream"));
		for (size_t i = 0; i < n_cmds; i++)
			json_array_append_new(a, json_pack("{s:s, s:s}", "cmd", cmds[i].name, "help",
							   cmds[i].help ? cmds[i].help : ""));
		return json_pack("{s:i, s:o}", "version", SS_CTL_VERSION, "commands", a);
	}
	return NULL;
}

json_t *ss_ctl_request(const ss_ctl_command *cmds, size_t n_cmds, void *ctx, const char *line,
		       size_t len, bool *subscribe)
{
	json_error_t jerr;
	json_t *req = json_loadb(line, len, 0, &jerr);
	if (!req || !json_is_object(req)) {
		json_decref(req);
		return error_reply(NULL, "bad-request", "not a JSON object");
	}
	json_t *id = json_object_get(req, "id");
	json_t *v = json_object_get(req, "v");
	const char *cmd = json_string_value(json_object_get(req, "cmd"));
	json_t *reply;
	if (v && json_integer_value(v) != SS_CTL_VERSION) {
		reply = error_reply(id, "bad-version", "this softsad speaks control protocol version 1");
	} else if (!cmd) {
		reply = error_reply(id, "bad-request", "missing \"cmd\"");
	} else {
		json_t *result = builtin(cmds, n_cmds, cmd, subscribe);
		const ss_ctl_command *h = result ? NULL : find_cmd(cmds, n_cmds, cmd);
		const char *code = NULL, *msg = NULL;
		if (!result && !h) {
			code = "unknown-command";
			msg = "unknown command (try \"help\")";
		} else if (!result) {
			code = h->fn(ctx, req, &result, &msg);
		}
		if (code) {
			json_decref(result);
			reply = error_reply(id, code, msg);
		} else {
			reply = json_pack("{s:i, s:O?, s:b, s:o}", "v", SS_CTL_VERSION, "id", id, "ok", 1,
					  "result", result ? result : json_object());
		}
	}
	json_decref(req);
	return reply;
}

static bool handle_line(ss_ctl *c, struct client *cl, const char *line, size_t len)
{
	c->st.requests++;
	json_t *reply = ss_ctl_request(c->cmds, c->n_cmds, c->ctx, line, len, &cl->subscribed);
	if (reply && !json_is_true(json_object_get(reply, "ok")))
		c->st.errors++;
	return reply ? queue(c, cl, reply) : true;
}

struct feed_arg {
	ss_ctl *c;
	struct client *cl;
};

static bool feed_line(void *arg, const char *line, size_t len)
{
	struct feed_arg *a = arg;
	return handle_line(a->c, a->cl, line, len);
}

int ss_ctl_feed(char *in, size_t *in_len, const char *buf, size_t n, ss_ctl_line_fn fn, void *arg)
{
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		if (buf[i] != '\n')
			continue;
		/* A complete line: what was buffered plus this piece. */
		size_t piece = i - start;
		if (*in_len + piece > SS_CTL_MAX_FRAME)
			return -1;
		memcpy(in + *in_len, buf + start, piece);
		size_t len = *in_len + piece;
		*in_len = 0;
		start = i + 1;
		if (len && !fn(arg, in, len))
			return 0;
	}
	size_t rest = n - start;
	if (*in_len + rest > SS_CTL_MAX_FRAME)
		return -1;
	memcpy(in + *in_len, buf + start, rest);
	*in_len += rest;
	return 1;
}

static void on_client(ss_loop *l, int fd, uint32_t events, void *ctx)
{
	ss_ctl *c = ctx;
	struct client *cl = NULL;
	for (size_t i = 0; i < SS_CTL_MAX_CLIENTS; i++)
		if (c->clients[i] && c->clients[i]->fd == fd)
			cl = c->clients[i];
	if (!cl)
		return;
	if ((events & EPOLLOUT) && !flush(c, cl))
		return;
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)) || cl->closing)
		return;
	char buf[8192];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
		drop_client(c, cl);
		return;
	}
	if (n < 0)
		return;
	struct feed_arg a = { c, cl };
	if (ss_ctl_feed(cl->in, &cl->in_len, buf, (size_t)n, feed_line, &a) >= 0)
		return;
	c->st.oversized++;
	cl->in_len = 0;
	cl->closing = true;
	queue(c, cl, error_reply(NULL, "frame-too-large", "request longer than 65536 bytes"));
}

static void on_accept(ss_loop *l, int fd, uint32_t events, void *ctx)
{
	ss_ctl *c = ctx;
	int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0)
		return;
	size_t slot = SS_CTL_MAX_CLIENTS;
	for (size_t i = 0; i < SS_CTL_MAX_CLIENTS; i++)
		if (!c->clients[i]) {
			slot = i;
			break;
		}
	struct client *cl = slot < SS_CTL_MAX_CLIENTS ? calloc(1, sizeof(*cl)) : NULL;
	char *in = cl ? malloc(SS_CTL_MAX_FRAME) : NULL;
	if (!in || !ss_loop_add(c->loop, cfd, EPOLLIN, on_client, c)) {
		static const char busy[] = "{\"v\":1,\"ok\":false,\"error\":{\"code\":\"busy\",\"message\":\"too many control clients\"}}\n";
		ssize_t ignored = send(cfd, busy, sizeof(busy) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
		(void)ignored;
		close(cfd);
		free(in);
		free(cl);
		return;
	}
	cl->fd = cfd;
	cl->in = in;
	c->clients[slot] = cl;
	c->st.clients++;
	c->st.clients_now++;
}

/* A socket file left by a daemon that died is replaced; one somebody answers on is not. */
static bool path_is_live(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	bool live = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return live;
}

ss_ctl *ss_ctl_open(ss_loop *loop, const char *path, const ss_ctl_command *cmds, size_t n_cmds,
		    void *ctx, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "control socket path too long: %s", path);
		return NULL;
	}
	strcpy(sa.sun_path, path);
	if (path_is_live(path)) {
		snprintf(err, errlen, "%s: another softsad is answering there", path);
		return NULL;
	}
	unlink(path);
	ss_ctl *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->loop = loop;
	c->cmds = cmds;
	c->n_cmds = n_cmds;
	c->ctx = ctx;
	c->path = strdup(path);
	c->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	/* Created 0600 from the start: no window in which others could connect. */
	mode_t old = umask(0177);
	bool ok = c->path && c->lfd >= 0 && bind(c->lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	umask(old);
	ok = ok && chmod(path, 0600) == 0 && listen(c->lfd, 16) == 0 &&
	     ss_loop_add(loop, c->lfd, EPOLLIN, on_accept, c);
	if (!ok) {
		snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
		if (c->lfd >= 0)
			close(c->lfd);
		free(c->path);
		free(c);
		return NULL;
	}
	return c;
}

void ss_ctl_close(ss_ctl *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < SS_CTL_MAX_CLIENTS; i++)
		if (c->clients[i])
			drop_client(c, c->clients[i]);
	ss_loop_del(c->loop, c->lfd);
	close(c->lfd);
	unlink(c->path);
	free(c->path);
	free(c);
}

void ss_ctl_publish(ss_ctl *c, const char *event, json_t *fields)
{
	if (!fields)
		fields = json_object();
	for (size_t i = 0; i < SS_CTL_MAX_CLIENTS; i++) {
		struct client *cl = c->clients[i];
		if (!cl || !cl->subscribed || cl->closing)
			continue;
		json_t *m = json_deep_copy(fields);
		json_object_set_new(m, "v", json_integer(SS_CTL_VERSION));
		json_object_set_new(m, "event", json_string(event));
		queue(c, cl, m);
	}
	json_decref(fields);
}

ss_ctl_stats ss_ctl_get_stats(const ss_ctl *c) { return c->st; }
