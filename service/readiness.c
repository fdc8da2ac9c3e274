#define _GNU_SOURCE
#include "readiness.h"

#include <gio/gio.h>
#include <string.h>

#include "seed.h"

const char *
pvm_cloud_init_name (PvmCloudInit value)
{
  static const char * const names[] = {
    [PVM_CLOUD_INIT_UNKNOWN] = "unknown",
    [PVM_CLOUD_INIT_PENDING] = "pending",
    [PVM_CLOUD_INIT_DONE] = "done",
  };

  g_return_val_if_fail ((guint) value < G_N_ELEMENTS (names), "unknown");
  return names[value];
}

#define POLL_INTERVAL_MS 250
#define READ_MAX (1 << 20)

struct _PvmReadiness {
  char *log_path;
  PvmReadyFunc func;
  gpointer user_data;
  guint timer_id;
  GCancellable *cancellable;   /* cancelled when freed: an in-flight read is dropped */
  gboolean reading;
  goffset offset;
  char *tail;                  /* the end of what was read, for a marker split across reads */
};

typedef struct {
  char *path;
  goffset offset;
  char *tail;
  gboolean found;
} Read;

static void
read_free (Read *r)
{
  g_free (r->path);
  g_free (r->tail);
  g_free (r);
}

gboolean
pvm_readiness_scan (const char *tail, const char *buf, gsize len, char **new_tail)
{
  const gsize keep = strlen (PVM_READY_MARKER) - 1;
  g_autoptr(GString) s = g_string_new (tail);
  gboolean found;
  const char *from, *nul;

  g_string_append_len (s, buf, len);
  /* Console output may hold NULs: search with memmem, not strstr. */
  found = memmem (s->str, s->len, PVM_READY_MARKER, strlen (PVM_READY_MARKER)) != NULL;
  /* The tail is a C string, so keep only what follows the last NUL of the
   * last KEEP bytes: no marker continues across a NUL anyway, and a NUL
   * kept in it would cut off the marker's start after it. */
  from = s->str + (s->len > keep ? s->len - keep : 0);
  while ((nul = memchr (from, '\0', s->str + s->len - from)) != NULL)
    from = nul + 1;
  *new_tail = g_strndup (from, s->str + s->len - from);
  return found;
}

static void
read_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Read *r = data;
  g_autoptr(GFile) file = g_file_new_for_path (r->path);
  g_autoptr(GFileInputStream) in = g_file_read (file, cancellable, NULL);
  g_autoptr(GFileInfo) info = NULL;
  g_autofree char *buf = NULL;
  g_autofree char *new_tail = NULL;
  goffset size;
  gssize n;

  if (in == NULL)   /* not there yet: QEMU has not started writing */
    return g_task_return_boolean (task, TRUE);
  info = g_file_input_stream_query_info (in, G_FILE_ATTRIBUTE_STANDARD_SIZE, NULL, NULL);
  size = info ? g_file_info_get_size (info) : 0;
  if (size < r->offset)   /* truncated: a new boot */
    {
      r->offset = 0;
      g_clear_pointer (&r->tail, g_free);
    }
  if (size == r->offset ||
      !g_seekable_seek (G_SEEKABLE (in), r->offset, G_SEEK_SET, NULL, NULL))
    return g_task_return_boolean (task, TRUE);
  buf = g_malloc (READ_MAX);
  n = g_input_stream_read (G_INPUT_STREAM (in), buf, READ_MAX, NULL, NULL);
  if (n > 0)
    {
      r->found = pvm_readiness_scan (r->tail ? r->tail : "", buf, n, &new_tail);
      r->offset += n;
      g_free (r->tail);
      r->tail = g_steal_pointer (&new_tail);
    }
  g_task_return_boolean (task, TRUE);
}

static void
read_done (GObject *source, GAsyncResult *res, gpointer data)
{
  GTask *task = G_TASK (res);
  Read *r = g_task_get_task_data (task);
  PvmReadiness *self = data;

  if (g_cancellable_is_cancelled (g_task_get_cancellable (task)))
    return;   /* self is gone */
  self->reading = FALSE;
  self->offset = r->offset;
  g_free (self->tail);
  self->tail = g_strdup (r->tail);
  if (r->found)
    {
      g_clear_handle_id (&self->timer_id, g_source_remove);
      self->func (self, self->user_data);
    }
}

static gboolean
on_timer (gpointer data)
{
  PvmReadiness *self = data;
  g_autoptr(GTask) task = NULL;
  Read *r;

  if (self->reading)
    return G_SOURCE_CONTINUE;
  r = g_new0 (Read, 1);
  r->path = g_strdup (self->log_path);
  r->offset = self->offset;
  r->tail = g_strdup (self->tail);
  task = g_task_new (NULL, self->cancellable, read_done, self);
  g_task_set_task_data (task, r, (GDestroyNotify) read_free);
  self->reading = TRUE;
  g_task_run_in_thread (task, read_thread);
  return G_SOURCE_CONTINUE;
}

PvmReadiness *
pvm_readiness_new (const char *log_path, PvmReadyFunc func, gpointer user_data)
{
  PvmReadiness *self = g_new0 (PvmReadiness, 1);

  self->log_path = g_strdup (log_path);
  self->func = func;
  self->user_data = user_data;
  self->cancellable = g_cancellable_new ();
  self->timer_id = g_timeout_add (POLL_INTERVAL_MS, on_timer, self);
  on_timer (self);
  return self;
}

void
pvm_readiness_free (PvmReadiness *self)
{
  if (self == NULL)
    return;
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_handle_id (&self->timer_id, g_source_remove);
  g_free (self->log_path);
  g_free (self->tail);
  g_free (self);
}
