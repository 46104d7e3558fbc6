/* atomic_file.h — write-to-temp-then-rename helpers for outputs (videos, PNGs, JSON).
 *
 * io_tmp_create makes a new, empty, uniquely named hidden file in the target's
 * own directory (".<name>.tmp-<pid>-<n>", O_EXCL, mode 0666 & ~umask) so the
 * final rename(2) is atomic on the same filesystem: readers see either the old
 * file or the complete new one, and a failed or aborted write leaves nothing
 * behind once io_tmp_discard runs.  (No fsync: atomic against failures and
 * concurrent readers, not against power loss.)  Checked by tests/test_video.c.
 */
#ifndef SPADIT_ATOMIC_FILE_H
#define SPADIT_ATOMIC_FILE_H

#include <stddef.h> /* size_t */

#include "../dit/status.h" /* dit_status, dit_err */

/* Create the temp file for `target`; its path goes into tmp[cap]. */
dit_status io_tmp_create(const char *target, char *tmp, size_t cap, dit_err *err);
/* rename(tmp, target); on failure the temp file is removed. */
dit_status io_tmp_commit(const char *tmp, const char *target, dit_err *err);
/* Remove the temp file (ignores errors; no-op for ""). */
void io_tmp_discard(const char *tmp);
/* Every temp file io_tmp_create made and no commit/discard has released yet is remembered (64 at
 * most) so that a signal can remove them: io_tmp_cleanup_on_signals installs handlers for SIGINT,
 * SIGTERM, SIGHUP and SIGQUIT that remove the live temp files and then die of the same signal (the
 * CLI calls it first thing).  io_tmp_remove_all is that removal (async-signal-safe); io_tmp_live
 * counts the live ones (tests). */
void io_tmp_cleanup_on_signals(void);
void io_tmp_remove_all(void);
int io_tmp_live(void);
/* 1 when a and b name the same file: equal strings, the same inode, or (when not both exist) the
 * same last component in the same folder. */
int io_same_file(const char *a, const char *b);
/* Fails early, naming the folder, when target's folder is missing or not writable (checked before long
 * work whose result goes there). */
dit_status io_output_dir_check(const char *target, dit_err *err);
/* mkdir -p without a shell: every missing component is created (0755); an existing non-folder
 * component is an error naming it. */
dit_status io_mkdir_p(const char *path, dit_err *err);
/* The whole of data[len] into path through a temp file and rename. */
dit_status io_write_file_atomic(const char *path, const void *data, size_t len, dit_err *err);

#endif
