/* Files softsad keeps across restarts (the downgrade memory, the directory's last good
 * policy): replaced whole or not at all. */
#ifndef SS_BASE_FILE_H
#define SS_BASE_FILE_H

#include <stdbool.h>
#include <stddef.h>

/* Writes p to PATH.tmp (a fresh file of mode 0600: a temp file left by a crash is removed
 * first, and a link planted at that name is never followed), fsyncs it, renames it over
 * path and fsyncs the directory.  On failure *what names the step ("writing", "renaming",
 * ...), errno says why, and no temp file is left. */
bool ss_file_replace(const char *path, const void *p, size_t n, const char **what);

/* The directory part of path: "." when it has none, "/" for a file in the root. */
void ss_path_dir(const char *path, char *out, size_t cap);

#endif
