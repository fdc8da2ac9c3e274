#include "daemon.h"

#include "hypervisor.h"
#include "kept.h"
#include "lease-monitor.h"
#include "manager.h"
#include "validate.h"
#include "vm.h"

struct _PvmDaemon {
  GObject parent;

  PvmConfig *config;
  PvmHypervisor *hypervisor;
  GDBusObjectManagerServer *object_manager;
  PvmManager *manager;
  PvmKept *kept;          /* the kept project disks, shared with the manager and VMs */
  GHashTable *vms;        /* VM name -> PvmVm */
  PvmLeaseMonitor *leases;
};

G_DEFINE_TYPE (PvmDaemon, pvm_daemon, G_TYPE_OBJECT)

static void
export_vm (PvmDaemon *self, PvmVm *vm)
{
  g_autofree char *path = pvm_vm_object_path (pvm_vm_get_name (vm));
  g_autoptr(PvmDBusObjectSkeleton) object = pvm_dbus_object_skeleton_new (path);

  pvm_dbus_object_skeleton_set_vm (object, PVM_DBUS_VM (vm));
  g_dbus_object_manager_server_export (self->object_manager,
                                       G_DBUS_OBJECT_SKELETON (object));
}

static void remove_vm (PvmDaemon *self, const char *name);

static void
on_vm_destroyed (PvmVm *vm, PvmDaemon *self)
{
  remove_vm (self, pvm_vm_get_name (vm));
}

static void
apply_info (PvmDaemon *self, const PvmDomainInfo *info, PvmReason reason)
{
  PvmVm *vm = g_hash_table_lookup (self->vms, info->name);

  if (vm != NULL)
    {
      pvm_vm_update (vm, info, reason);
      return;
    }
  vm = pvm_vm_new (self->config, self->hypervisor, self->kept, info, reason);
  g_signal_connect (vm, "destroyed", G_CALLBACK (on_vm_destroyed), self);
  g_hash_table_insert (self->vms, g_strdup (info->name), vm);
  export_vm (self, vm);
}

static void
remove_vm (PvmDaemon *self, const char *name)
{
  PvmVm *vm = g_hash_table_lookup (self->vms, name);
  g_autofree char *path = NULL;

  if (vm == NULL)
    return;
  path = pvm_vm_object_path (name);
  g_signal_handlers_disconnect_by_data (vm, self);
  pvm_vm_dispose_ops (vm);
  g_dbus_object_manager_server_unexport (self->object_manager, path);
  g_hash_table_remove (self->vms, name);
}

static void
on_synced (PvmHypervisor *hv, GPtrArray *infos, PvmDaemon *self)
{
  g_autoptr(GHashTable) present = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) gone = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  gpointer name;

  for (guint i = 0; i < infos->len; i++)
    {
      PvmDomainInfo *info = g_ptr_array_index (infos, i);
      g_hash_table_add (present, info->name);
      apply_info (self, info, PVM_REASON_SYNCED);
    }
  g_hash_table_iter_init (&iter, self->vms);
  while (g_hash_table_iter_next (&iter, &name, NULL))
    if (!g_hash_table_contains (present, name))
      g_ptr_array_add (gone, g_strdup (name));
  for (guint i = 0; i < gone->len; i++)
    remove_vm (self, g_ptr_array_index (gone, i));
}

static void
on_domain_changed (PvmHypervisor *hv, PvmDomainInfo *info, PvmReason reason,
                   PvmDaemon *self)
{
  apply_info (self, info, reason);
}

static void
on_created (PvmManager *manager, PvmDomainInfo *info, PvmDaemon *self)
{
  apply_info (self, info, PVM_REASON_CREATED);
}

static void
on_domain_removed (PvmHypervisor *hv, const char *name, PvmDaemon *self)
{
  remove_vm (self, name);
}

static void
on_disconnected (PvmHypervisor *hv, PvmDaemon *self)
{
  GHashTableIter iter;
  gpointer vm;

  g_hash_table_iter_init (&iter, self->vms);
  while (g_hash_table_iter_next (&iter, NULL, &vm))
    pvm_vm_set_unknown (vm);
}

/* ---- addresses: one DHCP lease query for all VMs ---- */

static void
on_leases (PvmLeaseMonitor *monitor, GHashTable *by_mac, PvmDaemon *self)
{
  GHashTableIter iter;
  gpointer vm;

  g_hash_table_iter_init (&iter, self->vms);
  while (g_hash_table_iter_next (&iter, NULL, &vm))
    {
      const char *mac = pvm_vm_get_mac (vm);
      g_autofree char *lower = mac ? g_ascii_strdown (mac, -1) : NULL;
      GPtrArray *addrs = lower ? g_hash_table_lookup (by_mac, lower) : NULL;

      if (!pvm_vm_is_running (vm))
        continue;
      if (addrs != NULL)
        g_ptr_array_add (addrs, NULL);
      pvm_vm_set_addresses (vm, addrs ? (const char * const *) addrs->pdata : NULL);
      if (addrs != NULL)
        g_ptr_array_remove_index (addrs, addrs->len - 1);
    }
}

static gboolean
any_running (gpointer data)
{
  PvmDaemon *self = data;
  GHashTableIter iter;
  gpointer vm;

  g_hash_table_iter_init (&iter, self->vms);
  while (g_hash_table_iter_next (&iter, NULL, &vm))
    if (pvm_vm_is_running (vm))
      return TRUE;
  return FALSE;
}

void
pvm_daemon_export (PvmDaemon *self, GDBusConnection *connection)
{
  g_autoptr(PvmDBusObjectSkeleton) object =
      pvm_dbus_object_skeleton_new ("/org/projectvm/Manager");

  pvm_dbus_object_skeleton_set_manager (object, PVM_DBUS_MANAGER (self->manager));
  g_dbus_object_manager_server_export (self->object_manager,
                                       G_DBUS_OBJECT_SKELETON (object));
  g_dbus_object_manager_server_set_connection (self->object_manager, connection);
  pvm_hypervisor_start (self->hypervisor);
  pvm_lease_monitor_start (self->leases);
}

static void
pvm_daemon_finalize (GObject *object)
{
  PvmDaemon *self = PVM_DAEMON (object);

  g_signal_handlers_disconnect_by_data (self->hypervisor, self);
  g_signal_handlers_disconnect_by_data (self->leases, self);
  g_signal_handlers_disconnect_by_data (self->manager, self);
  g_clear_object (&self->leases);
  g_clear_object (&self->manager);
  g_clear_object (&self->kept);
  g_clear_pointer (&self->vms, g_hash_table_unref);
  g_clear_object (&self->object_manager);
  g_clear_object (&self->hypervisor);
  g_clear_pointer (&self->config, pvm_config_free);
  G_OBJECT_CLASS (pvm_daemon_parent_class)->finalize (object);
}

static void
pvm_daemon_class_init (PvmDaemonClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pvm_daemon_finalize;
}

static void
pvm_daemon_init (PvmDaemon *self)
{
  self->vms = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->object_manager = g_dbus_object_manager_server_new ("/org/projectvm");
}

PvmDaemon *
pvm_daemon_new (PvmConfig *config)
{
  PvmDaemon *self = g_object_new (PVM_TYPE_DAEMON, NULL);

  self->config = config;
  self->hypervisor = pvm_hypervisor_new (config->uri);
  self->kept = pvm_kept_new ();
  self->manager = pvm_manager_new (config, self->hypervisor, self->kept, self->vms);
  self->leases = pvm_lease_monitor_new (self->hypervisor, config->network, any_running, self);
  g_signal_connect (self->manager, "created", G_CALLBACK (on_created), self);
  g_signal_connect (self->leases, "leases", G_CALLBACK (on_leases), self);
  g_signal_connect (self->hypervisor, "synced", G_CALLBACK (on_synced), self);
  g_signal_connect (self->hypervisor, "domain-changed",
                    G_CALLBACK (on_domain_changed), self);
  g_signal_connect (self->hypervisor, "domain-removed",
                    G_CALLBACK (on_domain_removed), self);
  g_signal_connect (self->hypervisor, "disconnected",
                    G_CALLBACK (on_disconnected), self);
  return self;
}
