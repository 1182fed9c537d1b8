/* file.h - files the daemon writes in shared places (/tmp, a CI workspace).
 *
 * Contract: no function here follows a symbolic link at the final path
 * component or reuses a file that someone else created, and every file gets
 * the mode asked for whatever the umask says.
 *
 * - file_write_atomic() writes a whole file: the bytes go to a fresh
 *   temporary file made with mkstemp() in the target's directory (O_EXCL, so
 *   a planted link or file at any guessable name is never opened), are
 *   fsync'ed, get `mode` with fchmod(), and are renamed over the target.
 *   rename() replaces a link at the target itself rather than writing
 *   through it. A reader sees the old file or the new one, never half.
 * - file_open_private() opens a file for appending records (trace, journal):
 *   O_NOFOLLOW (a link is refused with -ELOOP), O_CLOEXEC; a file that
 *   exists must be a regular file owned by this user; created files get
 *   `mode` exactly (fchmod after open). With truncate, an existing file is
 *   emptied (O_TRUNC) rather than appended to.
 *
 * - file_read_all() reads a whole file a user named (a scenario, a new
 *   bootstrap): whatever read() works on, a FIFO or /dev/stdin too, into a
 *   struct buf whose cap is the limit.
 *
 * Errors are negative errno values; nothing is logged here. */
#ifndef SCWS_CORE_FILE_H
#define SCWS_CORE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/buf.h"

__attribute__((warn_unused_result)) int file_write_atomic(const char *path, const void *data,
							  size_t len, mode_t mode);

/* Returns an open file descriptor (>= 0) or a negative errno. */
__attribute__((warn_unused_result)) int file_open_private(const char *path, bool truncate,
							  mode_t mode);

/* Appends every byte of path to out (retrying EINTR). 0; -EMSGSIZE past
 * out's cap, -ENOMEM, or -errno of open()/read(). */
__attribute__((warn_unused_result)) int file_read_all(const char *path, struct buf *out);

/* Writes all of len bytes (retrying short writes and EINTR); 0 or -errno. */
__attribute__((warn_unused_result)) int file_write_all(int fd, const void *data, size_t len);

#endif
