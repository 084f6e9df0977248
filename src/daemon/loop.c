#include "daemon/loop.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

/* Registrations live in a small array indexed by fd: the daemon has a handful of fds plus
 * control clients, and the fd number is dense. */
struct reg {
	ss_loop_fn fn;
	void *ctx;
	bool used;
};

struct ss_loop {
	int ep;
	struct reg *regs;
	int nregs;
};

ss_loop *ss_loop_new(void)
{
	ss_loop *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	if (l->ep < 0) {
		free(l);
		return NULL;
	}
	return l;
}

void ss_loop_free(ss_loop *l)
{
	if (!l)
		return;
	close(l->ep);
	free(l->regs);
	free(l);
}

static bool ensure(ss_loop *l, int fd)
{
	if (fd < l->nregs)
		return true;
	int n = l->nregs ? l->nregs : 64;
	while (n <= fd)
		n *= 2;
	struct reg *r = realloc(l->regs, (size_t)n * sizeof(*r));
	if (!r)
		return false;
	for (int i = l->nregs; i < n; i++)
		r[i] = (struct reg){ 0 };
	l->regs = r;
	l->nregs = n;
	return true;
}

bool ss_loop_add(ss_loop *l, int fd, uint32_t events, ss_loop_fn fn, void *ctx)
{
	if (fd < 0 || !ensure(l, fd))
		return false;
	struct epoll_event ev = { .events = events, .data.fd = fd };
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) != 0)
		return false;
	l->regs[fd] = (struct reg){ .fn = fn, .ctx = ctx, .used = true };
	return true;
}

bool ss_loop_mod(ss_loop *l, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };
	return epoll_ctl(l->ep, EPOLL_CTL_MOD, fd, &ev) == 0;
}

void ss_loop_del(ss_loop *l, int fd)
{
	if (fd < 0 || fd >= l->nregs || !l->regs[fd].used)
		return;
	epoll_ctl(l->ep, EPOLL_CTL_DEL, fd, NULL);
	l->regs[fd] = (struct reg){ 0 };
}

int ss_loop_run_once(ss_loop *l, ss_time deadline, int timeout_cap_ms)
{
	int timeout = -1;
	if (deadline != SS_NEVER) {
		ss_time now = ss_now_ms();
		timeout = deadline <= now ? 0 : (deadline - now > 86400000u ? 86400000 : (int)(deadline - now));
	}
	if (timeout_cap_ms >= 0 && (timeout < 0 || timeout > timeout_cap_ms))
		timeout = timeout_cap_ms;
	struct epoll_event evs[64];
	int n = epoll_wait(l->ep, evs, 64, timeout);
	if (n < 0)
		return errno == EINTR ? 0 : -1;
	int ran = 0;
	for (int i = 0; i < n; i++) {
		int fd = evs[i].data.fd;
		/* A callback earlier in this batch may have removed this fd. */
		if (fd < 0 || fd >= l->nregs || !l->regs[fd].used)
			continue;
		l->regs[fd].fn(l, fd, evs[i].events, l->regs[fd].ctx);
		ran++;
	}
	return ran;
}
