/* The downgrade memory on disk, so that it survives a daemon restart.
 *
 * Format (all integers big-endian):
 *   "SSDG"  u8 version (1)  u8[3] zero  u32 count
 *   count x { u8 family (4|6)  u8[16] address  u64 unix time (s) the peer completed IKE }
 *   SHA-256 of everything above (32 bytes)
 * Written to <path>.tmp, fsync'd, renamed over <path>, then the directory fsync'd: a crash
 * at any point leaves either the old file or the new one.  The loader ignores (with a
 * message) a file that is short, torn, or fails its checksum: losing the memory only
 * weakens downgrade protection back to what a fresh install has; it never blocks startup. */
#ifndef SS_AGENT_STATEFILE_H
#define SS_AGENT_STATEFILE_H

#include <stddef.h>
#include <stdint.h>

#include "agent/agent.h"

typedef void (*ss_statefile_fn)(void *ctx, const ss_addr *remote, uint64_t completed_unix_s);

/* Pure parser over untrusted bytes: calls fn per entry only once the whole file checks out.
 * Returns the number of entries, or -1 with *why set. */
int ss_statefile_parse(const uint8_t *p, size_t n, ss_statefile_fn fn, void *ctx, const char **why);

/* Writes the agent's downgrade memory; wall_now_s is the current unix time, now the
 * agent's clock.  false (with a logged reason) on any I/O error; the old file stays. */
bool ss_statefile_save(ss_agent *ag, ss_time now, uint64_t wall_now_s, const char *path);
/* Restores it into the agent.  Returns entries loaded; 0 when the file is absent or was
 * ignored (logged). */
int ss_statefile_load(ss_agent *ag, ss_time now, uint64_t wall_now_s, const char *path);

#endif
