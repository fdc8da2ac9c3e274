#include "lifecycle.h"

#include <unistd.h>

#include "errors.h"
#include "kept.h"
#include "options.h"
#include "storage.h"
#include "virt.h"

#define DEFAULT_STOP_TIMEOUT_SEC 60

typedef enum {
  STEP_DONE,
  STEP_WAS_RUNNING,    /* start: nothing to do */
  STEP_WAS_STOPPED,    /* shutdown, power-off: nothing to do */
} StepOutcome;

/* What a step found or made. */
typedef struct {
  StepOutcome outcome;
  PvmDomainInfo *info;          /* after a start or power-off: the domain now */
  PvmConsoleStream *console;    /* OpenConsole: the stream ... */
  int console_fd;               /* ... and the client's end of the socket */
  PvmKeptDisk *kept;            /* Destroy with keep-data: the disk it kept */
} StepResult;

typedef struct _Job Job;
/* One step on the domain (ACTIVE: it was running when the step began);
 * fills RESULT, or fails with ERROR. */
typedef gboolean (*StepFunc) (Job *job, virConnectPtr conn, virDomainPtr dom,
                              gboolean active, StepResult *result, GError **error);

struct _Job {
  PvmHypervisor *hypervisor;
  const PvmConfig *config;   /* Destroy */
  char *name;
  gboolean keep_data;        /* Destroy */
  StepFunc step;
  const PvmLifecycleHost *host;   /* the VM, kept alive by the task */
};

static void
step_result_free (StepResult *result)
{
  if (result == NULL)
    return;
  pvm_domain_info_free (result->info);
  if (result->console != NULL)
    pvm_console_stream_free (result->console);
  if (result->console_fd >= 0)
    close (result->console_fd);
  pvm_kept_disk_free (result->kept);
  g_free (result);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (StepResult, step_result_free)

static void
job_free (Job *job)
{
  g_object_unref (job->hypervisor);
  g_free (job->name);
  g_free (job);
}

static gboolean
is_active (virDomainPtr dom, gboolean *active, GError **error)
{
  int rc = virDomainIsActive (dom);

  if (rc < 0)
    return pvm_set_libvirt_error (error, "reading the domain state");
  *active = rc == 1;
  return TRUE;
}

/* The reply should find the properties already true: read the domain now
 * rather than leave it to the event that follows. */
static void
read_after (virDomainPtr dom, StepResult *result)
{
  pvm_domain_info_read (dom, &result->info, NULL);
}

/* ---- running a step ---- */

static void
step_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Job *job = data;
  GError *error = NULL;
  g_autoptr(virConnect) conn = pvm_hypervisor_dup_connection (job->hypervisor, &error);
  g_autoptr(virDomain) dom = NULL;
  g_autoptr(StepResult) result = g_new0 (StepResult, 1);
  gboolean active = FALSE;

  result->console_fd = -1;
  if (conn != NULL && pvm_lookup_domain (conn, job->name, &dom, &error) && dom == NULL)
    g_set_error (&error, PVM_ERROR, PVM_ERROR_NOT_FOUND,
                 "there is no project VM named \"%s\"", job->name);
  if (error == NULL && is_active (dom, &active, &error) &&
      job->step (job, conn, dom, active, result, &error))
    g_task_return_pointer (task, g_steal_pointer (&result),
                           (GDestroyNotify) step_result_free);
  else
    g_task_return_error (task, error);
}

/* Runs STEP on the VM's domain in a thread; THEN gets the operation. */
static void
run (PvmOperation *op, const PvmLifecycleHost *host, StepFunc step, GAsyncReadyCallback then)
{
  g_autoptr(GTask) task = g_task_new (host->vm, NULL, then, pvm_operation_ref (op));
  Job *job = g_new0 (Job, 1);

  job->hypervisor = g_object_ref (host->hypervisor);
  job->config = host->config;
  job->name = g_strdup (host->name);
  job->keep_data = pvm_operation_get_params (op)->keep_data;
  job->step = step;
  job->host = host;
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);
  g_task_run_in_thread (task, step_thread);
}

/* A step's result, its snapshot applied; NULL when it failed (answered). */
static StepResult *
step_finish (PvmOperation *op, GAsyncResult *res)
{
  const Job *job = g_task_get_task_data (G_TASK (res));
  g_autoptr(GError) error = NULL;
  StepResult *result = g_task_propagate_pointer (G_TASK (res), &error);

  if (result == NULL)
    {
      pvm_operation_return_error (op, error);
      return NULL;
    }
  if (result->info != NULL)
    job->host->apply (job->host->vm, result->info);
  return result;
}

static const PvmLifecycleHost *
host_of (GAsyncResult *res)
{
  return ((const Job *) g_task_get_task_data (G_TASK (res)))->host;
}

/* ---- Start [--wait]: start, then wait for cloud-init's marker ---- */

static gboolean
start_step (Job *job, virConnectPtr conn, virDomainPtr dom, gboolean active,
            StepResult *result, GError **error)
{
  if (active)
    {
      result->outcome = STEP_WAS_RUNNING;
      return TRUE;
    }
  if (virDomainCreate (dom) < 0)
    return pvm_set_libvirt_error (error, "starting the VM");
  read_after (dom, result);
  return TRUE;
}

static void
on_start_timeout (PvmOperation *op, gpointer data)
{
  const PvmLifecycleHost *host = data;
  g_autoptr(GError) error = g_error_new (PVM_ERROR, PVM_ERROR_TIMEOUT,
      "cloud-init did not finish on \"%s\" in time; the VM keeps running", host->name);

  pvm_operation_return_error (op, error);
}

static void
started (GObject *source, GAsyncResult *res, gpointer data)
{
  g_autoptr(PvmOperation) op = data;
  g_autoptr(StepResult) result = step_finish (op, res);
  const PvmLifecycleHost *host = host_of (res);

  if (result == NULL)
    return;
  /* A new boot (reason "booted") restarted the readiness watch with
   * CloudInit pending when its snapshot was applied. */
  if (!pvm_operation_get_params (op)->wait || host->ready (host->vm))
    pvm_operation_return_value (op, g_variant_new ("()"), NULL);
  else
    pvm_operation_wait (op, on_start_timeout, (gpointer) host);
}

static void
start (PvmOperation *op, const PvmLifecycleHost *host)
{
  run (op, host, start_step, started);
}

/* ---- Stop: ACPI, a wait for the shutoff, a power-off after the timeout ---- */

static gboolean
shutdown_step (Job *job, virConnectPtr conn, virDomainPtr dom, gboolean active,
               StepResult *result, GError **error)
{
  if (!active)
    {
      result->outcome = STEP_WAS_STOPPED;
      return TRUE;
    }
  if (virDomainShutdown (dom) < 0)
    return pvm_set_libvirt_error (error, "asking the guest to shut down (ACPI)");
  return TRUE;
}

static gboolean
power_off_step (Job *job, virConnectPtr conn, virDomainPtr dom, gboolean active,
                StepResult *result, GError **error)
{
  if (!active)
    {
      result->outcome = STEP_WAS_STOPPED;
      return TRUE;
    }
  /* It may have gone down by itself meanwhile: that is no failure. */
  if (virDomainDestroy (dom) < 0 && virDomainIsActive (dom) == 1)
    return pvm_set_libvirt_error (error, "powering the VM off");
  read_after (dom, result);
  return TRUE;
}

static void
powered_off (GObject *source, GAsyncResult *res, gpointer data)
{
  g_autoptr(PvmOperation) op = data;
  gboolean after_wait = pvm_operation_get_phase (op) == PVM_PHASE_FORCING;
  g_autoptr(StepResult) result = step_finish (op, res);
  gboolean was_stopped;

  if (result == NULL)
    return;
  /* After the wait, "stopped already" means it shut down by itself. */
  was_stopped = result->outcome == STEP_WAS_STOPPED;
  pvm_operation_return_value (op, g_variant_new ("(s)", !was_stopped ? "forced"
                              : after_wait ? "graceful" : "already-stopped"), NULL);
}

static void
on_stop_timeout (PvmOperation *op, gpointer data)
{
  const PvmLifecycleHost *host = data;

  g_message ("%s: no shutdown after the ACPI request; powering off", host->name);
  /* The shutoff event of this power-off must not read as graceful. */
  pvm_operation_force (op);
  run (op, host, power_off_step, powered_off);
}

static void
shutdown_asked (GObject *source, GAsyncResult *res, gpointer data)
{
  g_autoptr(PvmOperation) op = data;
  g_autoptr(StepResult) result = step_finish (op, res);

  if (result == NULL)
    return;
  if (result->outcome == STEP_WAS_STOPPED)
    pvm_operation_return_value (op, g_variant_new ("(s)", "already-stopped"), NULL);
  else   /* the shutoff ends the wait (pvm_lifecycle_shutoff); the timer forces it */
    pvm_operation_wait (op, on_stop_timeout, (gpointer) host_of (res));
}

static void
stop (PvmOperation *op, const PvmLifecycleHost *host)
{
  if (pvm_operation_get_params (op)->force)
    run (op, host, power_off_step, powered_off);
  else
    run (op, host, shutdown_step, shutdown_asked);
}

/* ---- Destroy: power off, undefine, remove the volumes ---- */

static gboolean
delete_volumes (virStoragePoolPtr pool, const char *name, gboolean keep_data,
                GError **error)
{
  PvmVolumeKind kinds[] = { PVM_VOLUME_ROOT, PVM_VOLUME_SEED, PVM_VOLUME_CONSOLE,
                            PVM_VOLUME_DATA };
  guint n = keep_data ? 3 : 4;
  g_autofree char *log = pvm_volume_name (name, PVM_VOLUME_CONSOLE);

  /* The console log (and its rotations) is written by virtlogd behind the
   * pool's back. */
  virStoragePoolRefresh (pool, 0);
  if (!pvm_storage_delete_rotated (pool, log, error))
    return FALSE;
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *vol_name = pvm_volume_name (name, kinds[i]);
      if (!pvm_storage_delete (pool, vol_name, error))
        return FALSE;
    }
  return TRUE;
}

/* Before anything goes: a kept disk whose owner was not recorded would be
 * handed to the next Create of the name, so no record, no Destroy. */
static gboolean
record_kept (Job *job, virDomainPtr dom, StepResult *result, GError **error)
{
  g_autoptr(PvmDomainInfo) info = NULL;
  guint64 now = (guint64) g_get_real_time () / G_USEC_PER_SEC;

  if (!pvm_domain_info_read (dom, &info, error))
    return FALSE;
  if (info == NULL)
    {
      g_set_error (error, PVM_ERROR, PVM_ERROR_NOT_FOUND,
                   "there is no project VM named \"%s\"", job->name);
      return FALSE;
    }
  if (!pvm_kept_record_write (job->config->records_dir, job->name, info->meta.owner, now,
                              error))
    return FALSE;
  result->kept = pvm_kept_disk_new (job->name, info->meta.owner, info->meta.disk_gib, now);
  return TRUE;
}

/* Without keep-data the disk is gone: so goes any record of an earlier
 * keep. Left behind it harms nothing (the next keep rewrites it). */
static void
forget_kept (Job *job)
{
  g_autoptr(GError) error = NULL;

  if (!pvm_kept_record_remove (job->config->records_dir, job->name, &error))
    g_warning ("%s: %s", job->name, error->message);
}

static gboolean
destroy_step (Job *job, virConnectPtr conn, virDomainPtr dom, gboolean active,
              StepResult *result, GError **error)
{
  g_autoptr(virStoragePool) pool = NULL;

  if (job->keep_data && !record_kept (job, dom, result, error))
    return FALSE;
  if (active && virDomainDestroy (dom) < 0)
    return pvm_set_libvirt_error (error, "powering the VM off");
  if (virDomainUndefineFlags (dom, VIR_DOMAIN_UNDEFINE_NVRAM) < 0)
    return pvm_set_libvirt_error (error, "undefining the domain");
  pool = pvm_storage_ensure_pool (conn, job->config->pool, job->config->storage_dir, error);
  if (pool == NULL || !delete_volumes (pool, job->name, job->keep_data, error))
    return FALSE;
  if (!job->keep_data)
    forget_kept (job);
  return TRUE;
}

static void
destroyed (GObject *source, GAsyncResult *res, gpointer data)
{
  g_autoptr(PvmOperation) op = data;
  g_autoptr(StepResult) result = step_finish (op, res);
  const PvmLifecycleHost *host = host_of (res);

  if (result == NULL)
    return;
  if (result->kept != NULL)
    pvm_kept_add (host->kept, g_steal_pointer (&result->kept));
  /* The undefine event removes it too; whichever comes first wins. */
  host->destroyed (host->vm);
  pvm_operation_return_value (op, g_variant_new ("()"), NULL);
}

static void
destroy (PvmOperation *op, const PvmLifecycleHost *host)
{
  run (op, host, destroy_step, destroyed);
}

/* ---- OpenConsole: a socket joined to the serial console ---- */

static gboolean
console_step (Job *job, virConnectPtr conn, virDomainPtr dom, gboolean active,
              StepResult *result, GError **error)
{
  if (!active)
    {
      g_set_error (error, PVM_ERROR, PVM_ERROR_FAILED,
                   "the VM \"%s\" is not running; start it first", job->name);
      return FALSE;
    }
  result->console = pvm_console_stream_open (conn, dom, &result->console_fd, error);
  return result->console != NULL;
}

static void
console_opened (GObject *source, GAsyncResult *res, gpointer data)
{
  g_autoptr(PvmOperation) op = data;
  g_autoptr(StepResult) result = step_finish (op, res);
  g_autoptr(GUnixFDList) fds = NULL;
  g_autoptr(GError) error = NULL;
  int index;

  if (result == NULL)
    return;
  fds = g_unix_fd_list_new ();
  index = g_unix_fd_list_append (fds, result->console_fd, &error);
  if (index < 0)
    {
      pvm_operation_return_error (op, error);
      return;
    }
  /* The bridge owns the stream and the service's end of the socket now. */
  pvm_console_bridge_start (g_steal_pointer (&result->console));
  pvm_operation_return_value (op, g_variant_new ("(h)", index), fds);
}

static void
open_console (PvmOperation *op, const PvmLifecycleHost *host)
{
  run (op, host, console_step, console_opened);
}

/* ---- options and the events a waiting call ends on ---- */

static gboolean
check_timeout (guint32 sec, guint32 min, GError **error)
{
  if (sec >= min && sec <= 86400)
    return TRUE;
  g_set_error (error, PVM_ERROR, PVM_ERROR_INVALID_ARGUMENT,
               "timeout-sec %u is out of range (%u to 86400)", sec, min);
  return FALSE;
}

gboolean
pvm_lifecycle_parse (PvmOperation *op, const PvmLifecycleHost *host, GError **error)
{
  PvmOperationParams *p = pvm_operation_get_params (op);
  GVariant *options = pvm_operation_get_options (op);
  const PvmOptionSpec start[] = {
    { "wait", "b", &p->wait }, { "timeout-sec", "u", &p->timeout_sec }, { NULL } };
  const PvmOptionSpec stop[] = {
    { "timeout-sec", "u", &p->timeout_sec }, { "force", "b", &p->force }, { NULL } };
  const PvmOptionSpec destroy[] = { { "keep-data", "b", &p->keep_data }, { NULL } };
  const PvmOptionSpec none[] = { { NULL } };

  switch (pvm_operation_get_kind (op))
    {
    case PVM_OPERATION_START:
      p->timeout_sec = host->config->ready_timeout_sec;
      return pvm_options_parse (options, start, error) &&
             check_timeout (p->timeout_sec, 1, error);
    case PVM_OPERATION_STOP:
      p->timeout_sec = DEFAULT_STOP_TIMEOUT_SEC;
      return pvm_options_parse (options, stop, error) &&
             check_timeout (p->timeout_sec, 0, error);
    case PVM_OPERATION_DESTROY:
      return pvm_options_parse (options, destroy, error);
    default:
      return pvm_options_parse (options, none, error);
    }
}

void
pvm_lifecycle_run (PvmOperation *op, const PvmLifecycleHost *host)
{
  switch (pvm_operation_get_kind (op))
    {
    case PVM_OPERATION_START: start (op, host); break;
    case PVM_OPERATION_STOP: stop (op, host); break;
    case PVM_OPERATION_DESTROY: destroy (op, host); break;
    case PVM_OPERATION_CONSOLE: open_console (op, host); break;
    }
}

static gboolean
waits (PvmOperation *op, PvmOperationKind kind)
{
  return op != NULL && pvm_operation_get_kind (op) == kind &&
         pvm_operation_get_phase (op) == PVM_PHASE_WAITING;
}

void
pvm_lifecycle_ready (PvmOperation *op)
{
  if (waits (op, PVM_OPERATION_START))
    pvm_operation_return_value (op, g_variant_new ("()"), NULL);
}

void
pvm_lifecycle_shutoff (PvmOperation *op, const char *name, PvmReason reason)
{
  g_autoptr(GError) error = NULL;

  if (waits (op, PVM_OPERATION_STOP))
    pvm_operation_return_value (op, g_variant_new ("(s)", "graceful"), NULL);
  else if (waits (op, PVM_OPERATION_START))
    {
      error = g_error_new (PVM_ERROR, PVM_ERROR_FAILED,
                           "the VM \"%s\" stopped (%s) before cloud-init finished", name,
                           pvm_reason_name (reason));
      pvm_operation_return_error (op, error);
    }
}

void
pvm_lifecycle_removed (PvmOperation *op, const char *name)
{
  g_autoptr(GError) error = NULL;

  if (op == NULL)
    return;
  if (waits (op, PVM_OPERATION_START))
    error = g_error_new (PVM_ERROR, PVM_ERROR_FAILED,
                         "the VM \"%s\" was destroyed while waiting for cloud-init", name);
  else if (pvm_operation_get_phase (op) != PVM_PHASE_WORKING)
    error = g_error_new (PVM_ERROR, PVM_ERROR_FAILED, "the VM \"%s\" was removed", name);
  if (error != NULL)
    pvm_operation_return_error (op, error);
}
