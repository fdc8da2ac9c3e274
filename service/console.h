/* OpenConsole: a socketpair whose far end goes to the client, bridged on
 * the main loop to the domain's serial console stream from libvirt. The
 * client needs no libvirt access of its own. */
#pragma once

#include <gio/gio.h>
#include <libvirt/libvirt.h>

G_BEGIN_DECLS

typedef struct _PvmConsoleStream PvmConsoleStream;

/* On a worker thread: opens the console (taking it over from any earlier
 * session) and the socketpair; *CLIENT_FD is the end to pass on. */
PvmConsoleStream *pvm_console_stream_open (virConnectPtr conn, virDomainPtr dom,
                                           int *client_fd, GError **error);
void pvm_console_stream_free (PvmConsoleStream *console);

/* On the main thread: bridges until either side closes, then frees itself. */
void pvm_console_bridge_start (PvmConsoleStream *console);

G_END_DECLS
