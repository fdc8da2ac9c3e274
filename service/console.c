#include "console.h"

#include <errno.h>
#include <glib-unix.h>
#include <sys/socket.h>
#include <unistd.h>
#include <libvirt/virterror.h>

#include "errors.h"
#include "ring.h"
#include "virt.h"

#define CHUNK 4096
#define BUFFER_SIZE (64 * 1024)   /* each way */
/* Guest output taken per stream event, so a flood shares the main loop
 * (libvirt calls again while it holds more). */
#define RECV_BUDGET BUFFER_SIZE
#define STREAM_EVENTS \
  (VIR_STREAM_EVENT_READABLE | VIR_STREAM_EVENT_ERROR | VIR_STREAM_EVENT_HANGUP)

/* Nothing here ever waits: the socket is non-blocking, the stream is
 * VIR_STREAM_NONBLOCK, and each side is watched for room only while
 * something is buffered for it (a remote stream reports writable at once,
 * so a standing watch would spin). Guest output a client does not read in
 * time goes, oldest first: a console shows what is happening now, and what
 * a slow reader catches up on should end at the current prompt, not at a
 * stale screen. Keystrokes are never dropped: when the guest side is full
 * the socket is not read, so the client's writes wait instead. */
struct _PvmConsoleStream {
  virStreamPtr stream;
  int fd;              /* the service's end of the socketpair */
  guint in_watch;      /* fd readable: while to_guest has room */
  guint out_watch;     /* fd writable: while to_client holds bytes */
  gboolean stream_watch;
  int stream_events;   /* what the stream callback listens for now */
  PvmRing to_client;   /* guest output not yet written to the socket */
  PvmRing to_guest;    /* client input not yet taken by the stream */
  guint64 dropped;     /* guest output the client was too slow for */
};

void
pvm_console_stream_free (PvmConsoleStream *c)
{
  if (c == NULL)
    return;
  if (c->dropped > 0)
    g_debug ("console: the client was too slow for %" G_GUINT64_FORMAT " bytes of output",
             c->dropped);
  g_clear_handle_id (&c->in_watch, g_source_remove);
  g_clear_handle_id (&c->out_watch, g_source_remove);
  if (c->stream != NULL)
    {
      if (c->stream_watch)
        virStreamEventRemoveCallback (c->stream);
      virStreamAbort (c->stream);
      virStreamFree (c->stream);
    }
  if (c->fd >= 0)
    close (c->fd);
  pvm_ring_clear (&c->to_client);
  pvm_ring_clear (&c->to_guest);
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
  pvm_ring_init (&c->to_client, BUFFER_SIZE);
  pvm_ring_init (&c->to_guest, BUFFER_SIZE);
  *client_fd = pair[1];
  return g_steal_pointer (&c);
}

/* ---- moving bytes; each returns FALSE when the session is over ---- */

/* Guest output -> to_client, dropping the oldest when it is full. */
static gboolean
pull_from_guest (PvmConsoleStream *c)
{
  char buf[CHUNK];
  gsize taken = 0;
  int n = -2;

  while (taken < RECV_BUDGET && (n = virStreamRecv (c->stream, buf, sizeof buf)) > 0)
    {
      c->dropped += pvm_ring_push_overwrite (&c->to_client, buf, n);
      taken += n;
    }
  return n > 0 || n == -2;   /* 0 is the end of the stream, -1 an error */
}

/* to_client -> the socket, as much as it takes now. */
static gboolean
push_to_client (PvmConsoleStream *c)
{
  while (c->to_client.len > 0)
    {
      gsize len;
      const char *data = pvm_ring_peek (&c->to_client, &len);
      ssize_t n = send (c->fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return TRUE;
      if (n < 0)
        return FALSE;   /* the client went away */
      pvm_ring_consume (&c->to_client, n);
    }
  return TRUE;
}

/* The socket -> to_guest, at most the room there is. */
static gboolean
pull_from_client (PvmConsoleStream *c)
{
  char buf[CHUNK];
  ssize_t n = read (c->fd, buf, MIN (sizeof buf, pvm_ring_room (&c->to_guest)));

  if (n < 0)
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
  pvm_ring_push (&c->to_guest, buf, n);
  return n > 0;   /* 0: the client closed its end */
}

/* to_guest -> the stream, until it would block (-2). */
static gboolean
push_to_guest (PvmConsoleStream *c)
{
  while (c->to_guest.len > 0)
    {
      gsize len;
      const char *data = pvm_ring_peek (&c->to_guest, &len);
      int n = virStreamSend (c->stream, data, len);

      if (n == -2)
        return TRUE;
      if (n < 0)
        return FALSE;
      pvm_ring_consume (&c->to_guest, n);
    }
  return TRUE;
}

/* ---- what to wait for ---- */

static gboolean on_fd_readable (int fd, GIOCondition cond, gpointer data);
static gboolean on_fd_writable (int fd, GIOCondition cond, gpointer data);

static void
set_watch (PvmConsoleStream *c, guint *watch, gboolean want, GIOCondition cond,
           GUnixFDSourceFunc func)
{
  if (want && *watch == 0)
    *watch = g_unix_fd_add (c->fd, cond, func, c);
  else if (!want)
    g_clear_handle_id (watch, g_source_remove);
}

static void
update_watches (PvmConsoleStream *c)
{
  int events = STREAM_EVENTS | (c->to_guest.len > 0 ? VIR_STREAM_EVENT_WRITABLE : 0);

  set_watch (c, &c->in_watch, pvm_ring_room (&c->to_guest) > 0,
             G_IO_IN | G_IO_HUP | G_IO_ERR, on_fd_readable);
  set_watch (c, &c->out_watch, c->to_client.len > 0, G_IO_OUT, on_fd_writable);
  if (events != c->stream_events && virStreamEventUpdateCallback (c->stream, events) == 0)
    c->stream_events = events;
}

/* The end of a watch's callback: its source stays while WANTED. */
static gboolean
watch_done (PvmConsoleStream *c, guint *watch, gboolean ok, gboolean wanted)
{
  if (!ok)
    {
      *watch = 0;   /* removed by returning */
      pvm_console_stream_free (c);
      return G_SOURCE_REMOVE;
    }
  if (!wanted)
    *watch = 0;
  update_watches (c);
  return wanted ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

/* ---- the callbacks ---- */

static void
on_stream_event (virStreamPtr stream, int events, void *opaque)
{
  PvmConsoleStream *c = opaque;
  gboolean ok = !(events & (VIR_STREAM_EVENT_ERROR | VIR_STREAM_EVENT_HANGUP));

  if (ok && (events & VIR_STREAM_EVENT_READABLE))
    ok = pull_from_guest (c) && push_to_client (c);
  if (ok && (events & VIR_STREAM_EVENT_WRITABLE))
    ok = push_to_guest (c);
  if (ok)
    update_watches (c);
  else
    pvm_console_stream_free (c);
}

/* Client keystrokes. */
static gboolean
on_fd_readable (int fd, GIOCondition cond, gpointer data)
{
  PvmConsoleStream *c = data;

  gboolean ok = pull_from_client (c) && push_to_guest (c);

  return watch_done (c, &c->in_watch, ok, ok && pvm_ring_room (&c->to_guest) > 0);
}

/* Room in the socket for buffered guest output. */
static gboolean
on_fd_writable (int fd, GIOCondition cond, gpointer data)
{
  PvmConsoleStream *c = data;

  gboolean ok = push_to_client (c);

  return watch_done (c, &c->out_watch, ok, ok && c->to_client.len > 0);
}

void
pvm_console_bridge_start (PvmConsoleStream *c)
{
  if (virStreamEventAddCallback (c->stream, STREAM_EVENTS, on_stream_event, c, NULL) < 0)
    {
      g_warning ("console: %s", virGetLastErrorMessage ());
      pvm_console_stream_free (c);
      return;
    }
  c->stream_watch = TRUE;
  c->stream_events = STREAM_EVENTS;
  update_watches (c);
}
