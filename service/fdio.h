/* Writing whole buffers to file descriptors: the client's console. (The
 * service's console bridge never waits; see console.c.) */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Writes all LEN bytes to FD, retrying on EINTR. On a non-blocking FD
 * that is full it waits up to WAIT_MS (-1: for ever) for room. */
gboolean pvm_write_all (int fd, const void *buf, gsize len, int wait_ms);

G_END_DECLS
