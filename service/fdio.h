/* Writing whole buffers to file descriptors, shared by the service's
 * console bridge and the client's console. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Writes all LEN bytes to FD, retrying on EINTR. On a non-blocking FD
 * that is full it waits up to WAIT_MS for room (a reader that stalls
 * longer loses the session rather than the service a thread). */
gboolean pvm_write_all (int fd, const void *buf, gsize len, int wait_ms);

G_END_DECLS
