/* The last policy softsad took from the directory and applied, kept on disk (0600, written
 * to a new file then renamed, so a crash leaves the old one or the new one). */
#ifndef SS_DIRECTORY_CACHE_H
#define SS_DIRECTORY_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "directory/ldapc.h"

bool ss_dir_cache_save(const char *path, const ss_dir_result *r, int64_t fetched, char *err, size_t errlen);
/* false with err when there is no cache (or it is not one). */
bool ss_dir_cache_load(const char *path, ss_dir_result *r, char *err, size_t errlen);
/* What ss_dir_cache_load does with the file's bytes (len of them, NUL or not): the header's
 * "# key: value" lines into r, the rest r->doc.  false when it is not a cache (r cleared);
 * the fuzz target dir_files reads through it. */
bool ss_dir_cache_parse(const char *buf, size_t len, ss_dir_result *r);

#endif
