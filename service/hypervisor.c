#include "hypervisor.h"

#include "gvir-autoptr.h"
#include <libvirt-glib/libvirt-glib.h>
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

void
pvm_domain_info_free (PvmDomainInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->name);
  g_free (info->mac);
  g_free (info->console_log);
  pvm_metadata_clear (&info->meta);
  g_free (info);
}

const char *
pvm_domain_state_name (int state)
{
  switch (state)
    {
    case VIR_DOMAIN_RUNNING: return "running";
    case VIR_DOMAIN_BLOCKED: return "running";
    case VIR_DOMAIN_PAUSED: return "paused";
    case VIR_DOMAIN_SHUTDOWN: return "shutting-down";
    case VIR_DOMAIN_SHUTOFF: return "shutoff";
    case VIR_DOMAIN_CRASHED: return "crashed";
    case VIR_DOMAIN_PMSUSPENDED: return "suspended";
    default: return "unknown";
    }
}

const char *
pvm_domain_reason_name (int state, int reason)
{
  switch (state)
    {
    case VIR_DOMAIN_RUNNING:
      switch (reason)
        {
        case VIR_DOMAIN_RUNNING_BOOTED: return "booted";
        case VIR_DOMAIN_RUNNING_UNPAUSED: return "resumed";
        case VIR_DOMAIN_RUNNING_RESTORED: return "restored";
        case VIR_DOMAIN_RUNNING_WAKEUP: return "woken";
        case VIR_DOMAIN_RUNNING_CRASHED: return "crashed";
        default: return NULL;
        }
    case VIR_DOMAIN_SHUTOFF:
      switch (reason)
        {
        case VIR_DOMAIN_SHUTOFF_SHUTDOWN: return "shutdown";
        case VIR_DOMAIN_SHUTOFF_DESTROYED: return "destroyed";
        case VIR_DOMAIN_SHUTOFF_CRASHED: return "crashed";
        case VIR_DOMAIN_SHUTOFF_SAVED: return "saved";
        case VIR_DOMAIN_SHUTOFF_FAILED: return "failed";
        default: return NULL;
        }
    case VIR_DOMAIN_PAUSED: return "paused";
    case VIR_DOMAIN_SHUTDOWN: return "shutting-down";
    case VIR_DOMAIN_CRASHED: return "crashed";
    case VIR_DOMAIN_PMSUSPENDED: return "suspended";
    default: return NULL;
    }
}

/* gconfig does not expose a chardev's <log>: find the serial's in the XML. */
static char *
serial_log_path (const char *xml)
{
  g_autoptr(GRegex) re = g_regex_new ("<serial[^>]*>.*?<log file=['\"]([^'\"]+)['\"]",
                                      G_REGEX_DOTALL, 0, NULL);
  g_autoptr(GMatchInfo) match = NULL;
  g_autofree char *raw = NULL;

  if (!g_regex_match (re, xml, 0, &match))
    return NULL;
  raw = g_match_info_fetch (match, 1);
  /* libvirt writes &apos; etc. for odd characters; our names have none. */
  return strchr (raw, '&') ? NULL : g_steal_pointer (&raw);
}

/* Memory, vCPUs and the first MAC, from the domain XML. */
static void
read_domain_xml (PvmDomainInfo *info, const char *xml)
{
  g_autoptr(GVirConfigDomain) conf = gvir_config_domain_new_from_xml (xml, NULL);
  GList *devices;

  if (conf == NULL)
    return;
  info->memory_mib = gvir_config_domain_get_memory (conf) / 1024;
  info->cpus = (guint32) gvir_config_domain_get_vcpus (conf);
  devices = gvir_config_domain_get_devices (conf);
  for (GList *l = devices; l != NULL; l = l->next)
    if (info->mac == NULL && GVIR_CONFIG_IS_DOMAIN_INTERFACE (l->data))
      info->mac = g_strdup (gvir_config_domain_interface_get_mac (l->data));
  g_list_free_full (devices, g_object_unref);
  info->console_log = serial_log_path (xml);
}

gboolean
pvm_domain_info_read (virDomainPtr dom, PvmDomainInfo **out, GError **error)
{
  g_autoptr(PvmDomainInfo) info = g_new0 (PvmDomainInfo, 1);
  g_autofree char *meta_xml = NULL;
  g_autofree char *xml = NULL;
  const char *name = pvm_vm_name_from_domain (virDomainGetName (dom));
  virErrorPtr err;

  *out = NULL;
  if (name == NULL)
    return TRUE;       /* not a project-* domain */
  info->name = g_strdup (name);
  meta_xml = virDomainGetMetadata (dom, VIR_DOMAIN_METADATA_ELEMENT,
                                   PVM_METADATA_NS, 0);
  if (meta_xml == NULL)
    {
      err = virGetLastError ();
      if (err != NULL && (err->code == VIR_ERR_NO_DOMAIN_METADATA ||
                          err->code == VIR_ERR_NO_DOMAIN))
        return TRUE;   /* not ours, or gone meanwhile */
      return pvm_set_libvirt_error (error, "reading the domain metadata");
    }
  if (!pvm_metadata_parse (meta_xml, &info->meta, NULL))
    return TRUE;       /* a foreign or damaged element: not ours to show */
  if (virDomainGetState (dom, &info->state, &info->reason, 0) < 0)
    return pvm_set_libvirt_error (error, "reading the domain state");
  xml = virDomainGetXMLDesc (dom, 0);
  if (xml == NULL)
    return pvm_set_libvirt_error (error, "reading the domain XML");
  read_domain_xml (info, xml);
  *out = g_steal_pointer (&info);
  return TRUE;
}

/* ---- work on the reader thread ---- */

typedef enum { JOB_CONNECT, JOB_REFRESH } JobKind;

typedef struct {
  JobKind kind;
  char *name;          /* JOB_REFRESH */
  char *reason;
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
  g_free (job->reason);
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
  g_autoptr(GVirConnection) gconn = gvir_connection_new (self->uri);
  g_autoptr(virConnect) conn = NULL;

  if (!gvir_connection_open (gconn, NULL, &job->error))
    return;
  /* libvirt-gobject opens it; plain libvirt gives the events, states and
   * metadata that it lacks. The handle is a new reference. */
  g_object_get (gconn, "handle", &conn, NULL);
  gvir_connection_close (gconn);
  if (conn == NULL)
    {
      g_set_error (&job->error, PVM_ERROR, PVM_ERROR_FAILED, "no libvirt handle");
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
  else
    refresh_on_thread (job);
  g_main_context_invoke (job->self->context, finish_job, job);
}

static void
push_job (PvmHypervisor *self, JobKind kind, const char *name, const char *reason)
{
  Job *job = g_new0 (Job, 1);

  job->kind = kind;
  job->name = g_strdup (name);
  job->reason = g_strdup (reason);
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
  else if (job->error != NULL)
    g_debug ("refreshing %s: %s", job->name, job->error->message);
  else if (job->info != NULL)
    {
      /* libvirt's state reason is exact; events may arrive in bursts
       * (resumed + started) whose first one would mislead. */
      const char *reason = pvm_domain_reason_name (job->info->state, job->info->reason);
      g_signal_emit (self, signals[SIG_DOMAIN_CHANGED], 0, job->info,
                     reason != NULL ? reason : job->reason);
    }
  else
    g_signal_emit (self, signals[SIG_DOMAIN_REMOVED], 0, job->name);
  job_free (job);
  return G_SOURCE_REMOVE;
}

static const char *
event_reason (int event, int detail)
{
  switch (event)
    {
    case VIR_DOMAIN_EVENT_DEFINED: return "defined";
    case VIR_DOMAIN_EVENT_UNDEFINED: return "undefined";
    case VIR_DOMAIN_EVENT_STARTED: return "booted";
    case VIR_DOMAIN_EVENT_SUSPENDED: return "paused";
    case VIR_DOMAIN_EVENT_RESUMED: return "resumed";
    case VIR_DOMAIN_EVENT_SHUTDOWN: return "shutting-down";
    case VIR_DOMAIN_EVENT_PMSUSPENDED: return "suspended";
    case VIR_DOMAIN_EVENT_CRASHED: return "crashed";
    case VIR_DOMAIN_EVENT_STOPPED:
      switch (detail)
        {
        case VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN: return "shutdown";
        case VIR_DOMAIN_EVENT_STOPPED_DESTROYED: return "destroyed";
        case VIR_DOMAIN_EVENT_STOPPED_CRASHED: return "crashed";
        case VIR_DOMAIN_EVENT_STOPPED_SAVED: return "saved";
        case VIR_DOMAIN_EVENT_STOPPED_FAILED: return "failed";
        default: return "stopped";
        }
    default: return "unknown";
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
  if (event == VIR_DOMAIN_EVENT_UNDEFINED)
    g_signal_emit (self, signals[SIG_DOMAIN_REMOVED], 0, name);
  else
    push_job (self, JOB_REFRESH, name, event_reason (event, detail));
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
  push_job (self, JOB_CONNECT, NULL, NULL);
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
      G_TYPE_NONE, 2, G_TYPE_POINTER, G_TYPE_STRING);
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
