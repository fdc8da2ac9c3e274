#include "vm.h"

#include "errors.h"

struct _PvmVm {
  PvmDBusVMSkeleton parent;

  PvmDaemon *daemon;      /* not owned: the daemon owns the VMs */
  char *name;
  char *mac;
};

static void pvm_vm_iface_init (PvmDBusVMIface *iface);

G_DEFINE_TYPE_WITH_CODE (PvmVm, pvm_vm, PVM_DBUS_TYPE_VM_SKELETON,
                         G_IMPLEMENT_INTERFACE (PVM_DBUS_TYPE_VM, pvm_vm_iface_init))

const char *
pvm_vm_get_name (PvmVm *self)
{
  return self->name;
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

static void
set_state (PvmVm *self, const char *state, const char *reason)
{
  PvmDBusVM *iface = PVM_DBUS_VM (self);
  g_autofree char *previous = g_strdup (pvm_dbus_vm_get_state (iface));

  if (g_strcmp0 (previous, state) == 0)
    return;
  pvm_dbus_vm_set_state (iface, state);
  if (!g_str_equal (state, "running"))
    {
      static const char *none[] = { NULL };
      pvm_dbus_vm_set_addresses (iface, none);
      update_ssh_target (self);
    }
  g_debug ("%s: %s -> %s (%s)", self->name, previous, state, reason);
  pvm_dbus_vm_emit_state_changed (iface, state, previous ? previous : "unknown",
                                  reason ? reason : "unknown");
}

void
pvm_vm_update (PvmVm *self, const PvmDomainInfo *info, const char *reason)
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
  set_state (self, pvm_domain_state_name (info->state), reason);
}

void
pvm_vm_set_unknown (PvmVm *self)
{
  set_state (self, "unknown", "libvirt-disconnected");
}

void
pvm_vm_dispose_ops (PvmVm *self)
{
}

/* ---- methods: filled in by the lifecycle work ---- */

static gboolean
not_implemented (GDBusMethodInvocation *invocation)
{
  g_dbus_method_invocation_return_error (invocation, PVM_ERROR, PVM_ERROR_FAILED,
                                         "not implemented yet");
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_start (PvmDBusVM *iface, GDBusMethodInvocation *invocation, GVariant *options)
{
  return not_implemented (invocation);
}

static gboolean
handle_stop (PvmDBusVM *iface, GDBusMethodInvocation *invocation, GVariant *options)
{
  return not_implemented (invocation);
}

static gboolean
handle_destroy (PvmDBusVM *iface, GDBusMethodInvocation *invocation, GVariant *options)
{
  return not_implemented (invocation);
}

static gboolean
handle_open_console (PvmDBusVM *iface, GDBusMethodInvocation *invocation,
                     GUnixFDList *fds, GVariant *options)
{
  return not_implemented (invocation);
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

  g_free (self->name);
  g_free (self->mac);
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
  /* Method handlers run in the main thread and hand slow work to tasks. */
  g_dbus_interface_skeleton_set_flags (G_DBUS_INTERFACE_SKELETON (self),
      G_DBUS_INTERFACE_SKELETON_FLAGS_NONE);
}

PvmVm *
pvm_vm_new (PvmDaemon *daemon, const PvmDomainInfo *info)
{
  PvmVm *self = g_object_new (PVM_TYPE_VM, NULL);
  PvmDBusVM *iface = PVM_DBUS_VM (self);

  self->daemon = daemon;
  self->name = g_strdup (info->name);
  pvm_dbus_vm_set_name (iface, info->name);
  pvm_dbus_vm_set_cloud_init (iface, "unknown");
  pvm_dbus_vm_set_state (iface, pvm_domain_state_name (info->state));
  pvm_vm_update (self, info, "synced");
  update_ssh_target (self);
  return self;
}
