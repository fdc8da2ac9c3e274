#include "hypervisor.h"

#include <libvirt/virterror.h>

#include "errors.h"
#include "virt.h"

#define RECONNECT_INTERVAL_MS 1000

struct _PvmHypervisor {
  GObject parent;

  char *uri;
  GMutex lock;              /* guards conn: worker threads read it */
  virConnectPtr conn;
  gboolean connecting;
  guint reconnect_id;
  /* One worker, so that snapshots reach the main loop in event order. */
  GThreadPool *reader;
  GMainContext *context;
};

G_DEFINE_TYPE (PvmHypervisor, pvm_hypervisor, G_TYPE_OBJECT)

enum { SIG_SYNCED, SIG_DOMAIN_CHANGED, SIG_DOMAIN_REMOVED, SIG_DISCONNECTED, N_SIGNALS };
static guint signals[N_SIGNALS];

/* ---- work on the reader thread ---- */

/* Every job goes through the one reader thread, in the order of the
 * events: a removal can never be overtaken by a refresh queued before it. */
typedef enum { JOB_CONNECT, JOB_REFRESH, JOB_REMOVE } JobKind;

typedef struct {
  JobKind kind;
  char *name;          /* JOB_REFRESH, JOB_REMOVE */
  PvmReason reason;
  /* results */
  GPtrArray *infos;    /* JOB_CONNECT */
  PvmDomainInfo *info; /* JOB_REFRESH; NULL: removed */
  gboolean failed;
  GError *error;
  PvmHypervisor *self;
} Job;

static void
job_free (Job *job)
{
  g_free (job->name);
  g_clear_pointer (&job->infos, g_ptr_array_unref);
  pvm_domain_info_free (job->info);
  g_clear_error (&job->error);
  g_object_unref (job->self);
  g_free (job);
}

static void on_lifecycle (virConnectPtr conn, virDomainPtr dom, int event,
                          int detail, void *opaque);
static void on_close (virConnectPtr conn, int reason, void *opaque);
static gboolean finish_job (gpointer data);

static void
free_domains (virDomainPtr *doms)
{
  for (virDomainPtr *d = doms; d != NULL && *d != NULL; d++)
    virDomainFree (*d);
  free (doms);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (virDomainPtr, free_domains)

static GPtrArray *
list_project_domains (virConnectPtr conn, GError **error)
{
  g_autoptr(GPtrArray) infos =
      g_ptr_array_new_with_free_func ((GDestroyNotify) pvm_domain_info_free);
  g_autoptr(virDomainPtr) doms = NULL;   /* NULL-terminated */
  int n = virConnectListAllDomains (conn, &doms, 0);

  if (n < 0)
    return pvm_set_libvirt_error (error, "listing domains"), NULL;
  for (int i = 0; i < n; i++)
    {
      g_autoptr(GError) local = NULL;
      PvmDomainInfo *info;

      if (!pvm_domain_info_read (doms[i], &info, &local))
        g_warning ("%s: %s", virDomainGetName (doms[i]), local->message);
      else if (info != NULL)
        g_ptr_array_add (infos, info);
    }
  return g_steal_pointer (&infos);
}

static void
connect_on_thread (Job *job)
{
  PvmHypervisor *self = job->self;
  /* Plain libvirt: libvirt-gobject's connection had nothing left to give
   * (events, states and metadata come from libvirt itself), and it leaked
   * itself when libvirtd went away while it was being opened. */
  g_autoptr(virConnect) conn = virConnectOpenAuth (self->uri, virConnectAuthPtrDefault, 0);

  if (conn == NULL)
    {
      pvm_set_libvirt_error (&job->error, "connecting");
      return;
    }
  if (virConnectRegisterCloseCallback (conn, on_close, g_object_ref (self),
                                       g_object_unref) < 0)
    g_object_unref (self);
  /* The callback dies with the connection: no id to keep. */
  if (virConnectDomainEventRegisterAny (
      conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
      VIR_DOMAIN_EVENT_CALLBACK (on_lifecycle), self, NULL) < 0)
    {
      pvm_set_libvirt_error (&job->error, "registering for domain events");
      return;
    }
  job->infos = list_project_domains (conn, &job->error);
  if (job->infos == NULL)
    return;
  g_mutex_lock (&self->lock);
  g_clear_pointer (&self->conn, virConnectClose);
  self->conn = g_steal_pointer (&conn);
  g_mutex_unlock (&self->lock);
}

static void
refresh_on_thread (Job *job)
{
  g_autoptr(virConnect) conn = pvm_hypervisor_dup_connection (job->self, &job->error);
  g_autoptr(virDomain) dom = NULL;

  if (conn == NULL || !pvm_lookup_domain (conn, job->name, &dom, &job->error))
    return;
  if (dom != NULL)
    pvm_domain_info_read (dom, &job->info, &job->error);
}

static void
run_job (gpointer data, gpointer user_data)
{
  Job *job = data;

  if (job->kind == JOB_CONNECT)
    connect_on_thread (job);
  else if (job->kind == JOB_REFRESH)
    refresh_on_thread (job);
  /* JOB_REMOVE reads nothing: it only keeps its place in the queue. */
  g_main_context_invoke (job->self->context, finish_job, job);
}

static void
push_job (PvmHypervisor *self, JobKind kind, const char *name, PvmReason reason)
{
  Job *job = g_new0 (Job, 1);

  job->kind = kind;
  job->name = g_strdup (name);
  job->reason = reason;
  job->self = g_object_ref (self);
  g_thread_pool_push (self->reader, job, NULL);
}

/* ---- main context ---- */

static gboolean
reconnect_cb (gpointer data)
{
  PvmHypervisor *self = data;

  self->reconnect_id = 0;
  pvm_hypervisor_start (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_reconnect (PvmHypervisor *self)
{
  if (self->reconnect_id == 0)
    self->reconnect_id = g_timeout_add (RECONNECT_INTERVAL_MS, reconnect_cb, self);
}

static gboolean
finish_job (gpointer data)
{
  Job *job = data;
  PvmHypervisor *self = job->self;

  if (job->kind == JOB_CONNECT)
    {
      self->connecting = FALSE;
      if (job->error != NULL)
        {
          g_debug ("libvirt %s: %s; retrying", self->uri, job->error->message);
          schedule_reconnect (self);
        }
      else
        {
          g_message ("connected to %s, %u project VMs", self->uri, job->infos->len);
          g_signal_emit (self, signals[SIG_SYNCED], 0, job->infos);
        }
    }
  else if (job->kind == JOB_REMOVE)
    g_signal_emit (self, signals[SIG_DOMAIN_REMOVED], 0, job->name);
  else if (job->error != NULL)
    g_debug ("refreshing %s: %s", job->name, job->error->message);
  else if (job->info != NULL)
    {
      /* libvirt's state reason is exact; events may arrive in bursts
       * (resumed + started) whose first one would mislead. */
      PvmReason reason = pvm_domain_info_reason (job->info);
      g_signal_emit (self, signals[SIG_DOMAIN_CHANGED], 0, job->info,
                     reason != PVM_REASON_UNKNOWN ? reason : job->reason);
    }
  else
    g_signal_emit (self, signals[SIG_DOMAIN_REMOVED], 0, job->name);
  job_free (job);
  return G_SOURCE_REMOVE;
}

static PvmReason
stopped_reason (int detail)
{
  switch (detail)
    {
    case VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN: return PVM_REASON_SHUTDOWN;
    case VIR_DOMAIN_EVENT_STOPPED_DESTROYED: return PVM_REASON_DESTROYED;
    case VIR_DOMAIN_EVENT_STOPPED_CRASHED: return PVM_REASON_CRASHED;
    case VIR_DOMAIN_EVENT_STOPPED_SAVED: return PVM_REASON_SAVED;
    case VIR_DOMAIN_EVENT_STOPPED_FAILED: return PVM_REASON_FAILED;
    default: return PVM_REASON_STOPPED;
    }
}

static PvmReason
event_reason (int event, int detail)
{
  switch (event)
    {
    case VIR_DOMAIN_EVENT_DEFINED: return PVM_REASON_DEFINED;
    case VIR_DOMAIN_EVENT_UNDEFINED: return PVM_REASON_UNDEFINED;
    case VIR_DOMAIN_EVENT_STARTED: return PVM_REASON_BOOTED;
    case VIR_DOMAIN_EVENT_SUSPENDED: return PVM_REASON_PAUSED;
    case VIR_DOMAIN_EVENT_RESUMED: return PVM_REASON_RESUMED;
    case VIR_DOMAIN_EVENT_SHUTDOWN: return PVM_REASON_SHUTTING_DOWN;
    case VIR_DOMAIN_EVENT_PMSUSPENDED: return PVM_REASON_SUSPENDED;
    case VIR_DOMAIN_EVENT_CRASHED: return PVM_REASON_CRASHED;
    case VIR_DOMAIN_EVENT_STOPPED: return stopped_reason (detail);
    default: return PVM_REASON_UNKNOWN;
    }
}

/* Runs on the main context (libvirt-glib's event loop). */
static void
on_lifecycle (virConnectPtr conn, virDomainPtr dom, int event, int detail,
              void *opaque)
{
  PvmHypervisor *self = opaque;
  const char *name = pvm_vm_name_from_domain (virDomainGetName (dom));

  if (name == NULL)
    return;
  push_job (self, event == VIR_DOMAIN_EVENT_UNDEFINED ? JOB_REMOVE : JOB_REFRESH, name,
            event_reason (event, detail));
}

static gboolean
handle_close (gpointer data)
{
  PvmHypervisor *self = data;

  g_message ("lost the connection to %s; reconnecting", self->uri);
  g_mutex_lock (&self->lock);
  g_clear_pointer (&self->conn, virConnectClose);
  g_mutex_unlock (&self->lock);
  g_signal_emit (self, signals[SIG_DISCONNECTED], 0);
  schedule_reconnect (self);
  return G_SOURCE_REMOVE;
}

/* libvirt may call this on whichever thread noticed the end: hop to the
 * main context. The dead connection's callbacks die with it. */
static void
on_close (virConnectPtr conn, int reason, void *opaque)
{
  PvmHypervisor *self = opaque;

  g_main_context_invoke_full (self->context, G_PRIORITY_DEFAULT, handle_close,
                              g_object_ref (self), g_object_unref);
}

void
pvm_hypervisor_start (PvmHypervisor *self)
{
  if (self->connecting)
    return;
  self->connecting = TRUE;
  push_job (self, JOB_CONNECT, NULL, PVM_REASON_SYNCED);
}

virConnectPtr
pvm_hypervisor_dup_connection (PvmHypervisor *self, GError **error)
{
  virConnectPtr conn;

  g_mutex_lock (&self->lock);
  conn = self->conn;
  if (conn != NULL)
    virConnectRef (conn);
  g_mutex_unlock (&self->lock);
  if (conn == NULL)
    g_set_error (error, PVM_ERROR, PVM_ERROR_FAILED,
                 "libvirt (%s) is not reachable at the moment", self->uri);
  return conn;
}

static void
pvm_hypervisor_finalize (GObject *object)
{
  PvmHypervisor *self = PVM_HYPERVISOR (object);

  g_thread_pool_free (self->reader, FALSE, TRUE);
  g_clear_handle_id (&self->reconnect_id, g_source_remove);
  g_clear_pointer (&self->conn, virConnectClose);
  g_mutex_clear (&self->lock);
  g_main_context_unref (self->context);
  g_free (self->uri);
  G_OBJECT_CLASS (pvm_hypervisor_parent_class)->finalize (object);
}

static void
pvm_hypervisor_class_init (PvmHypervisorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = pvm_hypervisor_finalize;
  signals[SIG_SYNCED] = g_signal_new ("synced", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
  signals[SIG_DOMAIN_CHANGED] = g_signal_new ("domain-changed",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 2, G_TYPE_POINTER, G_TYPE_UINT);
  signals[SIG_DOMAIN_REMOVED] = g_signal_new ("domain-removed",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[SIG_DISCONNECTED] = g_signal_new ("disconnected",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 0);
}

static void
pvm_hypervisor_init (PvmHypervisor *self)
{
  g_mutex_init (&self->lock);
  self->context = g_main_context_ref_thread_default ();
  self->reader = g_thread_pool_new (run_job, NULL, 1, TRUE, NULL);
}

PvmHypervisor *
pvm_hypervisor_new (const char *uri)
{
  PvmHypervisor *self = g_object_new (PVM_TYPE_HYPERVISOR, NULL);

  self->uri = g_strdup (uri);
  return self;
}
