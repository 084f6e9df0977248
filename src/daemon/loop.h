/* The daemon's event loop: epoll over file descriptors plus one deadline, the earliest of
 * what the sans-I/O cores asked for.  Single-threaded: callbacks run one at a time. */
#ifndef SS_DAEMON_LOOP_H
#define SS_DAEMON_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "base/clock.h"

typedef struct ss_loop ss_loop;
/* events are EPOLLIN/EPOLLOUT/EPOLLERR/EPOLLHUP bits. */
typedef void (*ss_loop_fn)(ss_loop *l, int fd, uint32_t events, void *ctx);

ss_loop *ss_loop_new(void);
void ss_loop_free(ss_loop *l);
bool ss_loop_add(ss_loop *l, int fd, uint32_t events, ss_loop_fn fn, void *ctx);
bool ss_loop_mod(ss_loop *l, int fd, uint32_t events);
void ss_loop_del(ss_loop *l, int fd);
/* Waits until an fd is ready or the deadline (monotonic ms) passes, whichever is first,
 * dispatching ready callbacks.  timeout_cap_ms bounds the wait (-1: none).  Returns the
 * number of callbacks run, or -1 on a fatal epoll error. */
int ss_loop_run_once(ss_loop *l, ss_time deadline, int timeout_cap_ms);

#endif
