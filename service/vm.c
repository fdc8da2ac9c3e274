#include "vm.h"

#include <libvirt/virterror.h>

#include "authority.h"
#include "console.h"
#include "create.h"
#include "errors.h"
#include "options.h"
#include "readiness.h"

#define DEFAULT_STOP_TIMEOUT_SEC 60

struct _PvmVm {
  PvmDBusVMSkeleton parent;

  PvmDaemon *daemon;      /* not owned: the daemon owns the VMs */
  char *name;
  char *mac;
  char *console_log;

  /* The lifecycle call under way (Start, Stop, Destroy), or NULL: a second
   * one gets Busy. */
  const char *op;
  GDBusMethodInvocation *waiting;   /* Start --wait or Stop, waiting */
  gboolean forcing;                 /* Stop's power-off after the wait is under way */
  guint wait_timeout_id;

  PvmVmState state;
  PvmCloudInit cloud_init;
  PvmReadiness *readiness;          /* watches the console log when running */
};

static void pvm_vm_iface_init (PvmDBusVMIface *iface);

G_DEFINE_TYPE_WITH_CODE (PvmVm, pvm_vm, PVM_DBUS_TYPE_VM_SKELETON,
                         G_IMPLEMENT_INTERFACE (PVM_DBUS_TYPE_VM, pvm_vm_iface_init))

const char *
pvm_vm_get_name (PvmVm *self)
{
  return self->name;
}

const char *
pvm_vm_get_mac (PvmVm *self)
{
  return self->mac;
}

static void
update_ssh_target (PvmVm *self)
{
  const PvmConfig *config = pvm_daemon_get_config (self->daemon);
  PvmDBusVM *iface = PVM_DBUS_VM (self);
  g_autofree char *host = NULL;
  g_autofree char *target = NULL;
  const char * const *addresses = pvm_dbus_vm_get_addresses (iface);

  if (*config->ssh_host_template != '\0')
    {
      g_autoptr(GString) s = g_string_new (config->ssh_host_template);
      g_string_replace (s, "{name}", self->name, 0);
      host = g_string_free (g_steal_pointer (&s), FALSE);
    }
  else if (addresses != NULL && addresses[0] != NULL)
    host = g_strdup (addresses[0]);

  target = host != NULL ? g_strdup_printf ("%s@%s", config->ssh_user, host)
                        : g_strdup ("");
  if (g_strcmp0 (target, pvm_dbus_vm_get_ssh_target (iface)) != 0)
    pvm_dbus_vm_set_ssh_target (iface, target);
}

void
pvm_vm_set_addresses (PvmVm *self, const char * const *addresses)
{
  PvmDBusVM *iface = PVM_DBUS_VM (self);
  const char * const *current = pvm_dbus_vm_get_addresses (iface);
  static const char *none[] = { NULL };

  if (addresses == NULL)
    addresses = none;
  if (current != NULL && g_strv_equal (current, addresses))
    return;
  pvm_dbus_vm_set_addresses (iface, addresses);
  update_ssh_target (self);
}

/* ---- waiting calls (Start --wait, Stop) ---- */

static void
end_wait (PvmVm *self)
{
  g_clear_handle_id (&self->wait_timeout_id, g_source_remove);
  g_clear_object (&self->waiting);
  self->op = NULL;
}

static void
finish_start_wait (PvmVm *self, GError *error)
{
  if (error != NULL)
    g_dbus_method_invocation_return_gerror (self->waiting, error);
  else
    pvm_dbus_vm_complete_start (PVM_DBUS_VM (self), self->waiting);
  end_wait (self);
}

static void
finish_stop_wait (PvmVm *self, const char *outcome)
{
  pvm_dbus_vm_complete_stop (PVM_DBUS_VM (self), self->waiting, outcome);
  end_wait (self);
}

/* ---- state from libvirt ---- */

static void
set_cloud_init (PvmVm *self, PvmCloudInit value)
{
  if (self->cloud_init == value)
    return;
  self->cloud_init = value;
  pvm_dbus_vm_set_cloud_init (PVM_DBUS_VM (self), pvm_cloud_init_name (value));
  if (value == PVM_CLOUD_INIT_DONE && self->waiting != NULL &&
      g_strcmp0 (self->op, "start") == 0)
    finish_start_wait (self, NULL);
}

static void
on_ready (PvmReadiness *readiness, gpointer data)
{
  set_cloud_init (PVM_VM (data), PVM_CLOUD_INIT_DONE);
}

/* Watch for cloud-init's marker while running; FRESH_BOOT: this boot began
 * just now, so whatever the log held before is gone. */
static void
follow_readiness (PvmVm *self, gboolean running, gboolean fresh_boot)
{
  if (!running || self->console_log == NULL)
    {
      g_clear_pointer (&self->readiness, pvm_readiness_free);
      set_cloud_init (self, running ? PVM_CLOUD_INIT_PENDING : PVM_CLOUD_INIT_UNKNOWN);
      return;
    }
  if (fresh_boot)
    g_clear_pointer (&self->readiness, pvm_readiness_free);
  if (self->readiness == NULL)
    {
      if (fresh_boot || self->cloud_init != PVM_CLOUD_INIT_DONE)
        set_cloud_init (self, PVM_CLOUD_INIT_PENDING);
      self->readiness = pvm_readiness_new (self->console_log, on_ready, self);
    }
}

static void
set_state (PvmVm *self, PvmVmState state, PvmReason reason)
{
  PvmDBusVM *iface = PVM_DBUS_VM (self);
  PvmVmState previous = self->state;
  gboolean running = state == PVM_VM_STATE_RUNNING;

  if (previous == state)
    return;
  self->state = state;
  pvm_dbus_vm_set_state (iface, pvm_vm_state_name (state));
  if (!running)
    pvm_vm_set_addresses (self, NULL);
  if (state != PVM_VM_STATE_UNKNOWN)
    follow_readiness (self, running, running && reason == PVM_REASON_BOOTED);
  g_debug ("%s: %s -> %s (%s)", self->name, pvm_vm_state_name (previous),
           pvm_vm_state_name (state), pvm_reason_name (reason));
  pvm_dbus_vm_emit_state_changed (iface, pvm_vm_state_name (state),
                                  pvm_vm_state_name (previous), pvm_reason_name (reason));

  if (self->waiting != NULL && state == PVM_VM_STATE_SHUTOFF)
    {
      if (g_strcmp0 (self->op, "stop") == 0 && !self->forcing)
        finish_stop_wait (self, "graceful");
      else if (g_strcmp0 (self->op, "start") == 0)
        {
          g_autoptr(GError) error = g_error_new (PVM_ERROR, PVM_ERROR_FAILED,
              "the VM \"%s\" stopped (%s) before cloud-init finished", self->name,
              pvm_reason_name (reason));
          finish_start_wait (self, error);
        }
    }
}

gboolean
pvm_vm_is_running (PvmVm *self)
{
  return self->state == PVM_VM_STATE_RUNNING;
}

void
pvm_vm_update (PvmVm *self, const PvmDomainInfo *info, PvmReason reason)
{
  PvmDBusVM *iface = PVM_DBUS_VM (self);

  /* Setting an unchanged value emits nothing: the generated skeleton
   * compares before it queues PropertiesChanged. */
  pvm_dbus_vm_set_owner (iface, info->meta.owner);
  pvm_dbus_vm_set_memory_mi_b (iface, info->memory_mib);
  pvm_dbus_vm_set_cpus (iface, info->cpus);
  pvm_dbus_vm_set_disk_gi_b (iface, info->meta.disk_gib);
  pvm_dbus_vm_set_image (iface, info->meta.image);
  pvm_dbus_vm_set_created_at (iface, info->meta.created_at);
  g_free (self->mac);
  self->mac = g_strdup (info->mac);
  g_free (self->console_log);
  self->console_log = g_strdup (info->console_log);
  set_state (self, pvm_vm_state_from_domain (info->state), reason);
}

void
pvm_vm_set_unknown (PvmVm *self)
{
  set_state (self, PVM_VM_STATE_UNKNOWN, PVM_REASON_LIBVIRT_DISCONNECTED);
}

void
pvm_vm_dispose_ops (PvmVm *self)
{
  g_clear_pointer (&self->readiness, pvm_readiness_free);
  if (self->waiting != NULL && g_strcmp0 (self->op, "start") == 0)
    {
      g_autoptr(GError) error = g_error_new (PVM_ERROR, PVM_ERROR_FAILED,
          "the VM \"%s\" was destroyed while waiting for cloud-init", self->name);
      finish_start_wait (self, error);
    }
  else if (self->waiting != NULL)
    {
      g_autoptr(GError) error = g_error_new (PVM_ERROR, PVM_ERROR_FAILED,
          "the VM \"%s\" was removed", self->name);
      g_dbus_method_invocation_return_gerror (self->waiting, error);
      end_wait (self);
    }
}

typedef enum { STEP_START, STEP_SHUTDOWN, STEP_POWER_OFF, STEP_CONSOLE } Step;

/* ---- one call's plumbing: authorize, parse, run a libvirt step ---- */

/* A call in progress. It holds a reference of its own on the invocation;
 * answering (complete or return_error) consumes the reference GDBus handed
 * to the handler, so answers pass call->invocation, never a stolen one. */
typedef struct {
  PvmVm *self;
  GDBusMethodInvocation *invocation;
  GVariant *options;
  /* parsed options */
  gboolean wait;
  guint32 timeout_sec;
  gboolean force;
  gboolean keep_data;
  gboolean after_wait;      /* a power-off after the ACPI wait timed out */
  Step step;
  /* results of the worker */
  int outcome;
  PvmDomainInfo *info;      /* the domain after a start or power-off */
  int console_fd;
  gpointer console_stream;
} Call;

static void
call_free (Call *call)
{
  g_object_unref (call->self);
  g_clear_object (&call->invocation);
  g_variant_unref (call->options);
  if (call->console_fd >= 0)
    close (call->console_fd);
  if (call->console_stream != NULL)
    pvm_console_stream_free (call->console_stream);
  pvm_domain_info_free (call->info);
  g_free (call);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Call, call_free)

static Call *
call_new (PvmVm *self, GDBusMethodInvocation *invocation, GVariant *options)
{
  Call *call = g_new0 (Call, 1);

  call->self = g_object_ref (self);
  call->invocation = g_object_ref (invocation);
  call->options = g_variant_ref (options);
  call->console_fd = -1;
  return call;
}

static void
authorize (PvmVm *self, GDBusMethodInvocation *invocation, GVariant *options,
           const char *action, PvmAuthorizedFunc func)
{
  pvm_authority_check (invocation, action, self->name,
                       pvm_dbus_vm_get_owner (PVM_DBUS_VM (self)), func,
                       call_new (self, invocation, options), (GDestroyNotify) call_free);
}

static gboolean
claim (Call *call, const char *op)
{
  PvmVm *self = call->self;

  if (self->op != NULL)
    {
      g_dbus_method_invocation_return_error (call->invocation, PVM_ERROR, PVM_ERROR_BUSY,
          "the VM \"%s\" is busy: a %s is under way", self->name, self->op);
      return FALSE;
    }
  self->op = op;
  return TRUE;
}

static gboolean
parse (Call *call, const PvmOptionSpec *specs)
{
  g_autoptr(GError) error = NULL;

  if (pvm_options_parse (call->options, specs, &error))
    return TRUE;
  g_dbus_method_invocation_return_gerror (call->invocation, error);
  return FALSE;
}

/* NULL with an error (NotFound among them) when there is no domain. */
static virDomainPtr
lookup_domain (PvmVm *self, virConnectPtr conn, GError **error)
{
  virDomainPtr dom;

  if (!pvm_lookup_domain (conn, self->name, &dom, error))
    return NULL;
  if (dom == NULL)
    g_set_error (error, PVM_ERROR, PVM_ERROR_NOT_FOUND,
                 "there is no project VM named \"%s\"", self->name);
  return dom;
}

/* Outcomes of a step. */
enum { DONE, WAS_RUNNING, WAS_STOPPED };

static void
step_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Call *call = g_task_get_task_data (task);
  Step step = call->step;
  GError *error = NULL;
  g_autoptr(virConnect) conn =
      pvm_hypervisor_dup_connection (pvm_daemon_get_hypervisor (call->self->daemon), &error);
  g_autoptr(virDomain) dom = conn ? lookup_domain (call->self, conn, &error) : NULL;
  int active;

  if (dom == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  active = virDomainIsActive (dom);
  call->outcome = DONE;
  if (active < 0)
    pvm_set_libvirt_error (&error, "reading the domain state");
  else if (step == STEP_START && active)
    call->outcome = WAS_RUNNING;
  else if (step == STEP_START && virDomainCreate (dom) < 0)
    pvm_set_libvirt_error (&error, "starting the VM");
  else if ((step == STEP_SHUTDOWN || step == STEP_POWER_OFF) && !active)
    call->outcome = WAS_STOPPED;
  else if (step == STEP_SHUTDOWN && virDomainShutdown (dom) < 0)
    pvm_set_libvirt_error (&error, "asking the guest to shut down (ACPI)");
  else if (step == STEP_POWER_OFF && virDomainDestroy (dom) < 0 &&
           virDomainIsActive (dom) == 1)
    pvm_set_libvirt_error (&error, "powering the VM off");
  else if (step == STEP_CONSOLE && !active)
    g_set_error (&error, PVM_ERROR, PVM_ERROR_FAILED,
                 "the VM \"%s\" is not running; start it first", call->self->name);
  else if (step == STEP_CONSOLE)
    call->console_stream = pvm_console_stream_open (conn, dom, &call->console_fd, &error);

  /* The reply should find the properties already true: read the domain
   * now rather than leave it to the event that follows. */
  if (error == NULL && call->outcome == DONE &&
      (step == STEP_START || step == STEP_POWER_OFF))
    pvm_domain_info_read (dom, &call->info, NULL);

  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
run_step (Call *call, Step step, GAsyncReadyCallback done)
{
  g_autoptr(GTask) task = g_task_new (call->self, NULL, done, call);

  call->step = step;
  g_task_set_task_data (task, call, NULL);
  g_task_run_in_thread (task, step_thread);
}

static void
apply_step_info (Call *call)
{
  if (call->info != NULL)
    pvm_daemon_apply_info (call->self->daemon, call->info,
                           pvm_domain_info_reason (call->info));
}

/* Answers the call with the task's error; TRUE when there was one. */
static gboolean
step_failed (Call *call, GAsyncResult *res)
{
  g_autoptr(GError) error = NULL;

  if (g_task_propagate_boolean (G_TASK (res), &error))
    {
      apply_step_info (call);
      return FALSE;
    }
  g_dbus_method_invocation_return_gerror (call->invocation, error);
  return TRUE;
}

/* ---- Start ---- */

static gboolean
on_start_timeout (gpointer data)
{
  PvmVm *self = data;
  g_autoptr(GError) error = NULL;

  self->wait_timeout_id = 0;
  error = g_error_new (PVM_ERROR, PVM_ERROR_TIMEOUT,
                       "cloud-init did not finish on \"%s\" in time; the VM keeps running",
                       self->name);
  finish_start_wait (self, error);
  return G_SOURCE_REMOVE;
}

static void
start_done (GObject *source, GAsyncResult *res, gpointer data)
{
  g_autoptr(Call) call = data;
  PvmVm *self = call->self;

  if (step_failed (call, res))
    {
      self->op = NULL;
      return;
    }
  /* step_failed applied the fresh snapshot: a new boot (reason "booted")
   * already restarted the readiness watch with CloudInit "pending". */
  if (!call->wait ||
      self->cloud_init == PVM_CLOUD_INIT_DONE)
    {
      self->op = NULL;
      pvm_dbus_vm_complete_start (PVM_DBUS_VM (self), call->invocation);
      return;
    }
  self->waiting = g_steal_pointer (&call->invocation);
  self->wait_timeout_id = g_timeout_add_seconds (call->timeout_sec, on_start_timeout, self);
}

static void
start_authorized (GDBusMethodInvocation *invocation, guint32 caller, gpointer data)
{
  g_autoptr(Call) call = data;
  const PvmOptionSpec specs[] = {
    { "wait", "b", &call->wait },
    { "timeout-sec", "u", &call->timeout_sec },
    { NULL }
  };

  call->timeout_sec = pvm_daemon_get_config (call->self->daemon)->ready_timeout_sec;
  if (!parse (call, specs))
    return;
  if (call->timeout_sec == 0 || call->timeout_sec > 86400)
    {
      g_dbus_method_invocation_return_error (invocation, PVM_ERROR,
          PVM_ERROR_INVALID_ARGUMENT, "timeout-sec %u is out of range (1 to 86400)",
          call->timeout_sec);
      return;
    }
  if (!claim (call, "start"))
    return;
  run_step (call, STEP_START, start_done);
  g_steal_pointer (&call);
}

static gboolean
handle_start (PvmDBusVM *iface, GDBusMethodInvocation *invocation, GVariant *options)
{
  authorize (PVM_VM (iface), invocation, options, PVM_ACTION_MANAGE, start_authorized);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* ---- Stop ---- */

static void
power_off_done (GObject *source, GAsyncResult *res, gpointer data)
{
  g_autoptr(Call) call = data;
  PvmVm *self = call->self;
  g_autoptr(GError) error = NULL;
  gboolean ok = g_task_propagate_boolean (G_TASK (res), &error);

  if (call->after_wait)   /* the guest did not shut down in time */
    {
      self->forcing = FALSE;
      if (self->waiting != call->invocation)
        ;                 /* answered meanwhile (the VM was removed) */
      else if (!ok)
        {
          g_dbus_method_invocation_return_gerror (self->waiting, error);
          end_wait (self);
        }
      else            /* stopped by itself between the timeout and now? */
        finish_stop_wait (self, call->outcome == WAS_STOPPED ? "graceful" : "forced");
      apply_step_info (call);
      return;
    }
  self->op = NULL;
  if (!ok)
    {
      g_dbus_method_invocation_return_gerror (call->invocation, error);
      return;
    }
  apply_step_info (call);
  pvm_dbus_vm_complete_stop (PVM_DBUS_VM (self), call->invocation,
                             call->outcome == WAS_STOPPED ? "already-stopped" : "forced");
}

static void
stop_finish_forced (PvmVm *self)
{
  Call *call = call_new (self, self->waiting, g_variant_new ("a{sv}", NULL));

  g_variant_ref_sink (call->options);
  call->after_wait = TRUE;
  /* The shutoff event of this power-off must not read as graceful. */
  self->forcing = TRUE;
  run_step (call, STEP_POWER_OFF, power_off_done);
}

static gboolean
on_stop_timeout (gpointer data)
{
  PvmVm *self = data;

  self->wait_timeout_id = 0;
  g_message ("%s: no shutdown after the ACPI request; powering off", self->name);
  stop_finish_forced (self);
  return G_SOURCE_REMOVE;
}

static void
shutdown_done (GObject *source, GAsyncResult *res, gpointer data)
{
  g_autoptr(Call) call = data;
  PvmVm *self = call->self;

  if (step_failed (call, res))
    {
      self->op = NULL;
      return;
    }
  if (call->outcome == WAS_STOPPED)
    {
      self->op = NULL;
      pvm_dbus_vm_complete_stop (PVM_DBUS_VM (self), call->invocation,
                                 "already-stopped");
      return;
    }
  /* The shutoff event ends the wait (set_state); the timeout forces it. */
  self->waiting = g_steal_pointer (&call->invocation);
  self->wait_timeout_id = g_timeout_add_seconds (call->timeout_sec, on_stop_timeout, self);
}

static void
stop_authorized (GDBusMethodInvocation *invocation, guint32 caller, gpointer data)
{
  g_autoptr(Call) call = data;
  const PvmOptionSpec specs[] = {
    { "timeout-sec", "u", &call->timeout_sec },
    { "force", "b", &call->force },
    { NULL }
  };

  call->timeout_sec = DEFAULT_STOP_TIMEOUT_SEC;
  if (!parse (call, specs))
    return;
  if (call->timeout_sec > 86400)
    {
      g_dbus_method_invocation_return_error (invocation, PVM_ERROR,
          PVM_ERROR_INVALID_ARGUMENT, "timeout-sec %u is out of range (0 to 86400)",
          call->timeout_sec);
      return;
    }
  if (!claim (call, "stop"))
    return;
  if (call->force)
    run_step (call, STEP_POWER_OFF, power_off_done);
  else
    run_step (call, STEP_SHUTDOWN, shutdown_done);
  g_steal_pointer (&call);
}

static gboolean
handle_stop (PvmDBusVM *iface, GDBusMethodInvocation *invocation, GVariant *options)
{
  authorize (PVM_VM (iface), invocation, options, PVM_ACTION_MANAGE, stop_authorized);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* ---- Destroy ---- */

static void
destroy_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Call *call = data;
  GError *error = NULL;

  if (pvm_destroy_sync (call->self->daemon, call->self->name, call->keep_data, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
destroy_done (GObject *source, GAsyncResult *res, gpointer data)
{
  g_autoptr(Call) call = data;
  PvmVm *self = call->self;

  self->op = NULL;
  if (step_failed (call, res))
    return;
  /* The undefine event removes it too; whichever comes first wins. */
  pvm_daemon_remove_vm (self->daemon, self->name);
  pvm_dbus_vm_complete_destroy (PVM_DBUS_VM (self), call->invocation);
}

static void
destroy_authorized (GDBusMethodInvocation *invocation, guint32 caller, gpointer data)
{
  g_autoptr(Call) call = data;
  PvmVm *self = call->self;
  g_autoptr(GTask) task = NULL;
  const PvmOptionSpec specs[] = {
    { "keep-data", "b", &call->keep_data },
    { NULL }
  };

  if (!parse (call, specs))
    return;
  /* Destroy ends a Start that waits for cloud-init; other calls are Busy. */
  if (self->waiting != NULL && g_strcmp0 (self->op, "start") == 0)
    pvm_vm_dispose_ops (self);
  if (!claim (call, "destroy"))
    return;
  task = g_task_new (self, NULL, destroy_done, call);
  g_task_set_task_data (task, call, NULL);
  g_task_run_in_thread (task, destroy_thread);
  g_steal_pointer (&call);
}

static gboolean
handle_destroy (PvmDBusVM *iface, GDBusMethodInvocation *invocation, GVariant *options)
{
  authorize (PVM_VM (iface), invocation, options, PVM_ACTION_DESTROY, destroy_authorized);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* ---- OpenConsole ---- */

static void
console_done (GObject *source, GAsyncResult *res, gpointer data)
{
  g_autoptr(Call) call = data;
  g_autoptr(GUnixFDList) fds = NULL;
  g_autoptr(GError) error = NULL;
  int index;

  if (step_failed (call, res))
    return;
  fds = g_unix_fd_list_new ();
  index = g_unix_fd_list_append (fds, call->console_fd, &error);
  if (index < 0)
    {
      g_dbus_method_invocation_return_gerror (call->invocation, error);
      return;
    }
  /* The bridge owns the stream and the service's end of the socket now. */
  pvm_console_bridge_start (g_steal_pointer (&call->console_stream));
  pvm_dbus_vm_complete_open_console (PVM_DBUS_VM (call->self),
                                     call->invocation, fds,
                                     g_variant_new_handle (index));
}

static void
console_authorized (GDBusMethodInvocation *invocation, guint32 caller, gpointer data)
{
  g_autoptr(Call) call = data;
  const PvmOptionSpec specs[] = { { NULL } };

  if (!parse (call, specs))
    return;
  run_step (call, STEP_CONSOLE, console_done);
  g_steal_pointer (&call);
}

static gboolean
handle_open_console (PvmDBusVM *iface, GDBusMethodInvocation *invocation,
                     GUnixFDList *fds, GVariant *options)
{
  authorize (PVM_VM (iface), invocation, options, PVM_ACTION_MANAGE, console_authorized);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
pvm_vm_iface_init (PvmDBusVMIface *iface)
{
  iface->handle_start = handle_start;
  iface->handle_stop = handle_stop;
  iface->handle_destroy = handle_destroy;
  iface->handle_open_console = handle_open_console;
}

static void
pvm_vm_finalize (GObject *object)
{
  PvmVm *self = PVM_VM (object);

  g_clear_pointer (&self->readiness, pvm_readiness_free);
  g_clear_handle_id (&self->wait_timeout_id, g_source_remove);
  g_clear_object (&self->waiting);
  g_free (self->name);
  g_free (self->mac);
  g_free (self->console_log);
  G_OBJECT_CLASS (pvm_vm_parent_class)->finalize (object);
}

static void
pvm_vm_class_init (PvmVmClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pvm_vm_finalize;
}

static void
pvm_vm_init (PvmVm *self)
{
}

PvmVm *
pvm_vm_new (PvmDaemon *daemon, const PvmDomainInfo *info, PvmReason reason)
{
  PvmVm *self = g_object_new (PVM_TYPE_VM, NULL);
  PvmDBusVM *iface = PVM_DBUS_VM (self);

  self->daemon = daemon;
  self->name = g_strdup (info->name);
  pvm_dbus_vm_set_name (iface, info->name);
  /* The state before the first snapshot: unknown, with no addresses. */
  pvm_dbus_vm_set_state (iface, pvm_vm_state_name (PVM_VM_STATE_UNKNOWN));
  pvm_dbus_vm_set_cloud_init (iface, pvm_cloud_init_name (PVM_CLOUD_INIT_UNKNOWN));
  pvm_vm_set_addresses (self, NULL);
  pvm_vm_update (self, info, reason);
  update_ssh_target (self);
  return self;
}
