#include "console.h"

#include <errno.h>
#include <glib-unix.h>
#include <sys/socket.h>
#include <unistd.h>
#include <libvirt/virterror.h>

#include "errors.h"
#include "fdio.h"
#include "virt.h"

#define CHUNK 4096
#define CLIENT_STALL_MS 1000   /* a client this slow to read loses the session */

struct _PvmConsoleStream {
  virStreamPtr stream;
  int fd;              /* the service's end of the socketpair */
  guint fd_watch;
  gboolean stream_watch;
};

void
pvm_console_stream_free (PvmConsoleStream *c)
{
  if (c == NULL)
    return;
  g_clear_handle_id (&c->fd_watch, g_source_remove);
  if (c->stream != NULL)
    {
      if (c->stream_watch)
        virStreamEventRemoveCallback (c->stream);
      virStreamAbort (c->stream);
      virStreamFree (c->stream);
    }
  if (c->fd >= 0)
    close (c->fd);
  g_free (c);
}

PvmConsoleStream *
pvm_console_stream_open (virConnectPtr conn, virDomainPtr dom, int *client_fd,
                         GError **error)
{
  g_autofree PvmConsoleStream *c = g_new0 (PvmConsoleStream, 1);
  g_autoptr(virStream) stream = virStreamNew (conn, VIR_STREAM_NONBLOCK);
  int pair[2];

  if (stream == NULL)
    return pvm_set_libvirt_error (error, "opening a console stream"), NULL;
  if (virDomainOpenConsole (dom, NULL, stream, VIR_DOMAIN_CONSOLE_FORCE) < 0)
    return pvm_set_libvirt_error (error, "opening the serial console"), NULL;
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
    {
      int saved = errno;
      g_set_error (error, PVM_ERROR, PVM_ERROR_FAILED, "socketpair: %s", g_strerror (saved));
      virStreamAbort (stream);
      return NULL;
    }
  g_unix_set_fd_nonblocking (pair[0], TRUE, NULL);
  c->stream = g_steal_pointer (&stream);
  c->fd = pair[0];
  *client_fd = pair[1];
  return g_steal_pointer (&c);
}

/* Guest output -> client; FALSE when the session is over. */
static gboolean
forward_output (PvmConsoleStream *c, virStreamPtr stream)
{
  char buf[CHUNK];
  int n;

  while ((n = virStreamRecv (stream, buf, sizeof buf)) > 0)
    if (!pvm_write_all (c->fd, buf, n, CLIENT_STALL_MS))
      return FALSE;
  return n == -2;   /* nothing more for now; 0 or -1 is the end */
}

static void
on_stream_event (virStreamPtr stream, int events, void *opaque)
{
  PvmConsoleStream *c = opaque;

  if ((events & (VIR_STREAM_EVENT_ERROR | VIR_STREAM_EVENT_HANGUP)) ||
      !forward_output (c, stream))
    pvm_console_stream_free (c);
}

/* Client keystrokes -> guest. */
static gboolean
on_fd_readable (int fd, GIOCondition cond, gpointer data)
{
  PvmConsoleStream *c = data;
  char buf[CHUNK];
  ssize_t n = read (fd, buf, sizeof buf);

  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return G_SOURCE_CONTINUE;
  if (n > 0)
    {
      gsize sent = 0;
      while (sent < (gsize) n)
        {
          int m = virStreamSend (c->stream, buf + sent, n - sent);
          if (m == -2)
            continue;   /* the stream's buffer is full: it drains at once */
          if (m < 0)
            break;
          sent += m;
        }
      if (sent == (gsize) n)
        return G_SOURCE_CONTINUE;
    }
  c->fd_watch = 0;
  pvm_console_stream_free (c);
  return G_SOURCE_REMOVE;
}

void
pvm_console_bridge_start (PvmConsoleStream *c)
{
  if (virStreamEventAddCallback (c->stream,
                                 VIR_STREAM_EVENT_READABLE | VIR_STREAM_EVENT_ERROR |
                                 VIR_STREAM_EVENT_HANGUP,
                                 on_stream_event, c, NULL) < 0)
    {
      g_warning ("console: %s", virGetLastErrorMessage ());
      pvm_console_stream_free (c);
      return;
    }
  c->stream_watch = TRUE;
  c->fd_watch = g_unix_fd_add (c->fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_fd_readable, c);
}
