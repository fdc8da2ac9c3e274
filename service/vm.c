#include "vm.h"

#include "authority.h"
#include "errors.h"
#include "lifecycle.h"
#include "operation.h"
#include "readiness.h"

struct _PvmVm {
  PvmDBusVMSkeleton parent;

  char *name;
  char *mac;
  char *console_log;
  guint64 root_gib;                 /* from the metadata; 0: not recorded */
  PvmVmState state;
  PvmCloudInit cloud_init;
  PvmReadiness *readiness;          /* watches the console log when running */

  /* The lifecycle call under way (Start, Stop, Destroy), or NULL: a second
   * one gets Busy. Not a reference: its step or its timer keeps it, and it
   * lets go of this slot when it answers (op_done). */
  PvmOperation *op;
  PvmLifecycleHost host;            /* what the calls need of this VM */
};

static void pvm_vm_iface_init (PvmDBusVMIface *iface);

G_DEFINE_TYPE_WITH_CODE (PvmVm, pvm_vm, PVM_DBUS_TYPE_VM_SKELETON,
                         G_IMPLEMENT_INTERFACE (PVM_DBUS_TYPE_VM, pvm_vm_iface_init))

enum { SIG_DESTROYED, N_SIGNALS };
static guint signals[N_SIGNALS];

const char *
pvm_vm_get_name (PvmVm *self)
{
  return self->name;
}

guint64
pvm_vm_get_root_gib (PvmVm *self)
{
  return self->root_gib;
}

const char *
pvm_vm_get_mac (PvmVm *self)
{
  return self->mac;
}

static void
update_ssh_target (PvmVm *self)
{
  const PvmConfig *config = self->host.config;
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

/* ---- state from libvirt ---- */

static void
set_cloud_init (PvmVm *self, PvmCloudInit value)
{
  if (self->cloud_init == value)
    return;
  self->cloud_init = value;
  pvm_dbus_vm_set_cloud_init (PVM_DBUS_VM (self), pvm_cloud_init_name (value));
  if (value == PVM_CLOUD_INIT_DONE)
    pvm_lifecycle_ready (self->op);
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

  if (state == PVM_VM_STATE_SHUTOFF)
    pvm_lifecycle_shutoff (self->op, self->name, reason);
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
  pvm_dbus_vm_set_memory_mib (iface, info->memory_mib);
  pvm_dbus_vm_set_cpus (iface, info->cpus);
  pvm_dbus_vm_set_disk_gib (iface, info->meta.disk_gib);
  self->root_gib = info->meta.root_gib;
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

/* Ends a call that waits on this VM: it is going away. */
void
pvm_vm_dispose_ops (PvmVm *self)
{
  g_clear_pointer (&self->readiness, pvm_readiness_free);
  pvm_lifecycle_removed (self->op, self->name);
}

/* ---- the calls: authorize, parse, claim, hand to lifecycle.c ---- */

static void
op_done (PvmOperation *op, const GError *error, gpointer target)
{
  PvmVm *self = target;

  if (self->op == op)
    self->op = NULL;
}

static gboolean
claim (PvmVm *self, PvmOperation *op, GError **error)
{
  /* OpenConsole claims nothing: any number may run. */
  if (pvm_operation_get_kind (op) == PVM_OPERATION_CONSOLE)
    return TRUE;
  /* Destroy ends a Start that waits for cloud-init; other calls are Busy. */
  if (self->op != NULL && pvm_operation_yields_to (self->op, pvm_operation_get_kind (op)))
    pvm_vm_dispose_ops (self);
  if (self->op != NULL)
    {
      g_set_error (error, PVM_ERROR, PVM_ERROR_BUSY, "the VM \"%s\" is busy: a %s is under way",
                   self->name, pvm_operation_get_name (self->op));
      return FALSE;
    }
  self->op = op;
  return TRUE;
}

static void
authorized (GDBusMethodInvocation *invocation, guint32 caller, gpointer data)
{
  g_autoptr(PvmOperation) op = data;
  PvmVm *self = pvm_operation_get_target (op);
  g_autoptr(GError) error = NULL;

  if (pvm_lifecycle_parse (op, &self->host, &error) && claim (self, op, &error))
    pvm_lifecycle_run (op, &self->host);
  else
    pvm_operation_return_error (op, error);
}

/* Authorization comes first: a caller without the right learns nothing. */
static void
authorize (PvmDBusVM *iface, GDBusMethodInvocation *invocation, GVariant *options,
           PvmOperationKind kind, const char *action)
{
  PvmVm *self = PVM_VM (iface);
  PvmOperation *op = pvm_operation_new (kind, self, invocation, options, op_done);

  pvm_authority_check (invocation, action, self->name, pvm_dbus_vm_get_owner (iface),
                       authorized, op, (GDestroyNotify) pvm_operation_unref);
}

static gboolean
handle_start (PvmDBusVM *iface, GDBusMethodInvocation *invocation, GVariant *options)
{
  authorize (iface, invocation, options, PVM_OPERATION_START, PVM_ACTION_MANAGE);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_stop (PvmDBusVM *iface, GDBusMethodInvocation *invocation, GVariant *options)
{
  authorize (iface, invocation, options, PVM_OPERATION_STOP, PVM_ACTION_MANAGE);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_destroy (PvmDBusVM *iface, GDBusMethodInvocation *invocation, GVariant *options)
{
  authorize (iface, invocation, options, PVM_OPERATION_DESTROY, PVM_ACTION_DESTROY);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_open_console (PvmDBusVM *iface, GDBusMethodInvocation *invocation,
                     GUnixFDList *fds, GVariant *options)
{
  authorize (iface, invocation, options, PVM_OPERATION_CONSOLE, PVM_ACTION_MANAGE);
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

/* ---- what lifecycle.c needs of the VM ---- */

static void
host_apply (gpointer vm, const PvmDomainInfo *info)
{
  pvm_vm_update (vm, info, pvm_domain_info_reason (info));
}

static gboolean
host_ready (gpointer vm)
{
  return PVM_VM (vm)->cloud_init == PVM_CLOUD_INIT_DONE;
}

static void
host_destroyed (gpointer vm)
{
  g_signal_emit (vm, signals[SIG_DESTROYED], 0);
}

static void
pvm_vm_finalize (GObject *object)
{
  PvmVm *self = PVM_VM (object);

  g_clear_pointer (&self->readiness, pvm_readiness_free);
  g_clear_object (&self->host.hypervisor);
  g_clear_object (&self->host.kept);
  g_free (self->name);
  g_free (self->mac);
  g_free (self->console_log);
  G_OBJECT_CLASS (pvm_vm_parent_class)->finalize (object);
}

static void
pvm_vm_class_init (PvmVmClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pvm_vm_finalize;
  signals[SIG_DESTROYED] = g_signal_new ("destroyed", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
pvm_vm_init (PvmVm *self)
{
}

PvmVm *
pvm_vm_new (const PvmConfig *config, PvmHypervisor *hypervisor, PvmKept *kept,
            const PvmDomainInfo *info, PvmReason reason)
{
  PvmVm *self = g_object_new (PVM_TYPE_VM, NULL);
  PvmDBusVM *iface = PVM_DBUS_VM (self);

  self->name = g_strdup (info->name);
  self->host = (PvmLifecycleHost) {
    self, self->name, g_object_ref (hypervisor), config, g_object_ref (kept),
    host_apply, host_ready, host_destroyed
  };
  pvm_dbus_vm_set_name (iface, info->name);
  /* The state before the first snapshot: unknown, with no addresses. */
  pvm_dbus_vm_set_state (iface, pvm_vm_state_name (PVM_VM_STATE_UNKNOWN));
  pvm_dbus_vm_set_cloud_init (iface, pvm_cloud_init_name (PVM_CLOUD_INIT_UNKNOWN));
  pvm_vm_set_addresses (self, NULL);
  pvm_vm_update (self, info, reason);
  update_ssh_target (self);
  return self;
}
