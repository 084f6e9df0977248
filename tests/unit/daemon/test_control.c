/* The control socket in one process: the server runs on our loop, clients are plain
 * sockets; malformed, oversized, half and slow clients must leave the others served. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/control.h"

static char path[108];
static ss_loop *loop;
static ss_ctl *ctl;
static int pings;

static const char *cmd_ping(void *ctx, json_t *req, json_t **result, const char **message)
{
	pings++;
	json_t *echo = json_object_get(req, "echo");
	*result = json_pack("{s:s, s:O?}", "pong", "yes", "echo", echo);
	return NULL;
}

static const char *cmd_fail(void *ctx, json_t *req, json_t **result, const char **message)
{
	*message = "that peer is not known";
	return "bad-argument";
}

static const ss_ctl_command cmds[] = {
	{ "ping", cmd_ping, "answer pong" },
	{ "fail", cmd_fail, "always fails" },
};

static void pump(int rounds)
{
	for (int i = 0; i < rounds; i++)
		ss_loop_run_once(loop, SS_NEVER, 5);
}

static int client(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	pump(2);
	return fd;
}

static void say(int fd, const char *s)
{
	assert_int_equal(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

/* Reads one reply line, pumping the server while waiting. */
static json_t *hear(int fd)
{
	static char buf[1 << 16];
	size_t len = 0;
	for (int i = 0; i < 200; i++) {
		pump(1);
		ssize_t n = recv(fd, buf + len, sizeof(buf) - len - 1, MSG_DONTWAIT);
		if (n > 0)
			len += (size_t)n;
		char *nl = memchr(buf, '\n', len);
		if (nl)
			return json_loadb(buf, (size_t)(nl - buf), 0, NULL);
		if (n == 0)
			return NULL;
	}
	return NULL;
}

static const char *error_code(json_t *r)
{
	return json_string_value(json_object_get(json_object_get(r, "error"), "code"));
}

static int setup(void **state)
{
	snprintf(path, sizeof(path), "/tmp/softsa-ctl-test-%d", (int)getpid());
	loop = ss_loop_new();
	char err[200];
	ctl = ss_ctl_open(loop, path, cmds, 2, NULL, err, sizeof(err));
	assert_non_null(ctl);
	pings = 0;
	return 0;
}

static int teardown(void **state)
{
	ss_ctl_close(ctl);
	ss_loop_free(loop);
	return 0;
}

static void request_and_reply(void **state)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	int fd = client();
	say(fd, "{\"v\":1,\"id\":7,\"cmd\":\"ping\",\"echo\":[1,2]}\n");
	json_t *r = hear(fd);
	assert_non_null(r);
	assert_true(json_is_true(json_object_get(r, "ok")));
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 7);
	assert_string_equal(json_string_value(json_object_get(json_object_get(r, "result"), "pong")), "yes");
	json_decref(r);
	say(fd, "{\"id\":8,\"cmd\":\"fail\"}\n");
	r = hear(fd);
	assert_false(json_is_true(json_object_get(r, "ok")));
	assert_string_equal(error_code(r), "bad-argument");
	json_decref(r);
	close(fd);
}

static void garbage_unknown_and_wrong_version(void **state)
{
	int fd = client();
	say(fd, "this is not json\n");
	json_t *r = hear(fd);
	assert_string_equal(error_code(r), "bad-request");
	json_decref(r);
	say(fd, "{\"cmd\":\"fly\"}\n");
	r = hear(fd);
	assert_string_equal(error_code(r), "unknown-command");
	json_decref(r);
	say(fd, "{\"v\":99,\"cmd\":\"ping\"}\n");
	r = hear(fd);
	assert_string_equal(error_code(r), "bad-version");
	json_decref(r);
	say(fd, "[1,2,3]\n");
	r = hear(fd);
	assert_string_equal(error_code(r), "bad-request");
	json_decref(r);
	/* Still served after all that. */
	say(fd, "{\"cmd\":\"ping\"}\n");
	r = hear(fd);
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	assert_int_equal(pings, 1);
	close(fd);
}

static void half_frames_are_joined(void **state)
{
	int fd = client();
	say(fd, "{\"cmd\":");
	pump(3);
	say(fd, "\"ping\"}");
	pump(3);
	say(fd, "\n{\"cmd\":\"ping\"}\n");
	json_t *r = hear(fd);
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	pump(3);
	assert_int_equal(pings, 2);
	close(fd);
}

static void oversized_frame_disconnects_only_that_client(void **state)
{
	int good = client();
	int bad = client();
	char *big = malloc(SS_CTL_MAX_FRAME + 100);
	memset(big, 'x', SS_CTL_MAX_FRAME + 99);
	big[SS_CTL_MAX_FRAME + 99] = '\0';
	/* Push it in pieces so the server reads while we write. */
	size_t off = 0, total = strlen(big);
	while (off < total) {
		ssize_t n = send(bad, big + off, total - off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0)
			off += (size_t)n;
		else if (n < 0 && errno != EAGAIN)
			break;
		pump(1);
	}
	free(big);
	json_t *r = hear(bad);
	assert_string_equal(error_code(r), "frame-too-large");
	json_decref(r);
	assert_null(hear(bad)); /* then closed */
	say(good, "{\"cmd\":\"ping\"}\n");
	r = hear(good);
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	assert_int_equal(ss_ctl_get_stats(ctl).oversized, 1);
	close(bad);
	close(good);
}

static void slow_subscriber_is_cut_off(void **state)
{
	int slow = client();
	int good = client();
	int rcv = 4096;
	setsockopt(slow, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	say(slow, "{\"cmd\":\"subscribe\"}\n");
	pump(3);
	/* Never read: the backlog grows until the server gives up on this client. */
	for (int i = 0; i < 200000 && ss_ctl_get_stats(ctl).dropped_slow == 0; i++) {
		ss_ctl_publish(ctl, "soft-created", json_pack("{s:s, s:i}", "peer", "192.0.2.1", "n", i));
		if (i % 100 == 0)
			ss_loop_run_once(loop, SS_NEVER, 0);
	}
	assert_int_equal(ss_ctl_get_stats(ctl).dropped_slow, 1);
	say(good, "{\"cmd\":\"ping\"}\n");
	json_t *r = hear(good);
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	close(slow);
	close(good);
}

static void events_reach_subscribers_only(void **state)
{
	int sub = client();
	int other = client();
	say(sub, "{\"cmd\":\"subscribe\"}\n");
	json_t *r = hear(sub);
	json_decref(r);
	ss_ctl_publish(ctl, "soft-created", json_pack("{s:s}", "peer", "192.0.2.9"));
	r = hear(sub);
	assert_string_equal(json_string_value(json_object_get(r, "event")), "soft-created");
	assert_string_equal(json_string_value(json_object_get(r, "peer")), "192.0.2.9");
	json_decref(r);
	char b[16];
	pump(2);
	assert_int_equal(recv(other, b, sizeof(b), MSG_DONTWAIT), -1);
	close(sub);
	close(other);
}

static void client_side_call_and_absent_daemon(void **state)
{
	/* ss_ctl_call blocks, so answer from a child process serving the same loop is not
	 * possible here; check the absent-daemon message instead, and the live-socket refusal. */
	char err[200];
	json_t *req = json_pack("{s:s}", "cmd", "ping");
	assert_null(ss_ctl_call("/tmp/softsa-no-such-socket", req, 100, err, sizeof(err)));
	assert_non_null(strstr(err, "softsad is not running"));
	json_decref(req);
	ss_loop *l2 = ss_loop_new();
	assert_null(ss_ctl_open(l2, path, cmds, 2, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "another softsad"));
	ss_loop_free(l2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(request_and_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(garbage_unknown_and_wrong_version, setup, teardown),
		cmocka_unit_test_setup_teardown(half_frames_are_joined, setup, teardown),
		cmocka_unit_test_setup_teardown(oversized_frame_disconnects_only_that_client, setup, teardown),
		cmocka_unit_test_setup_teardown(slow_subscriber_is_cut_off, setup, teardown),
		cmocka_unit_test_setup_teardown(events_reach_subscribers_only, setup, teardown),
		cmocka_unit_test_setup_teardown(client_side_call_and_absent_daemon, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
