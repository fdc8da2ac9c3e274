#include "daemon.h"

#include <libvirt/virterror.h>

#include "manager.h"
#include "validate.h"
#include "vm.h"

struct _PvmDaemon {
  GObject parent;

  PvmConfig *config;
  PvmHypervisor *hypervisor;
  GDBusObjectManagerServer *object_manager;
  PvmManager *manager;
  GHashTable *vms;        /* VM name -> PvmVm */
  GHashTable *creating;   /* VM names with a Create under way */
  guint leases_id;        /* polls DHCP leases while a VM runs */
  gboolean leases_reading;
};

#define LEASES_INTERVAL_SEC 2

G_DEFINE_TYPE (PvmDaemon, pvm_daemon, G_TYPE_OBJECT)

const PvmConfig *
pvm_daemon_get_config (PvmDaemon *self)
{
  return self->config;
}

PvmHypervisor *
pvm_daemon_get_hypervisor (PvmDaemon *self)
{
  return self->hypervisor;
}

PvmVm *
pvm_daemon_find_vm (PvmDaemon *self, const char *name)
{
  return g_hash_table_lookup (self->vms, name);
}

gboolean
pvm_daemon_claim_name (PvmDaemon *self, const char *name)
{
  return g_hash_table_add (self->creating, g_strdup (name));
}

void
pvm_daemon_release_name (PvmDaemon *self, const char *name)
{
  g_hash_table_remove (self->creating, name);
}

static void
export_vm (PvmDaemon *self, PvmVm *vm)
{
  g_autofree char *path = pvm_vm_object_path (pvm_vm_get_name (vm));
  g_autoptr(PvmDBusObjectSkeleton) object = pvm_dbus_object_skeleton_new (path);

  pvm_dbus_object_skeleton_set_vm (object, PVM_DBUS_VM (vm));
  g_dbus_object_manager_server_export (self->object_manager,
                                       G_DBUS_OBJECT_SKELETON (object));
}

void
pvm_daemon_apply_info (PvmDaemon *self, const PvmDomainInfo *info,
                       PvmReason reason)
{
  PvmVm *vm = g_hash_table_lookup (self->vms, info->name);

  if (vm != NULL)
    {
      pvm_vm_update (vm, info, reason);
      return;
    }
  vm = pvm_vm_new (self, info, reason);
  g_hash_table_insert (self->vms, g_strdup (info->name), vm);
  export_vm (self, vm);
}

void
pvm_daemon_remove_vm (PvmDaemon *self, const char *name)
{
  PvmVm *vm = g_hash_table_lookup (self->vms, name);
  g_autofree char *path = NULL;

  if (vm == NULL)
    return;
  path = pvm_vm_object_path (name);
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
      pvm_daemon_apply_info (self, info, PVM_REASON_SYNCED);
    }
  g_hash_table_iter_init (&iter, self->vms);
  while (g_hash_table_iter_next (&iter, &name, NULL))
    if (!g_hash_table_contains (present, name))
      g_ptr_array_add (gone, g_strdup (name));
  for (guint i = 0; i < gone->len; i++)
    pvm_daemon_remove_vm (self, g_ptr_array_index (gone, i));
}

static void
on_domain_changed (PvmHypervisor *hv, PvmDomainInfo *info, PvmReason reason,
                   PvmDaemon *self)
{
  pvm_daemon_apply_info (self, info, reason);
}

static void
on_domain_removed (PvmHypervisor *hv, const char *name, PvmDaemon *self)
{
  pvm_daemon_remove_vm (self, name);
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
free_leases (virNetworkDHCPLeasePtr *leases)
{
  for (virNetworkDHCPLeasePtr *l = leases; l != NULL && *l != NULL; l++)
    virNetworkDHCPLeaseFree (*l);
  free (leases);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (virNetworkDHCPLeasePtr, free_leases)

static void
leases_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  PvmDaemon *self = source;
  GError *error = NULL;
  g_autoptr(virConnect) conn = pvm_hypervisor_dup_connection (self->hypervisor, &error);
  g_autoptr(virNetwork) net = NULL;
  g_autoptr(virNetworkDHCPLeasePtr) leases = NULL;
  GHashTable *by_mac;
  int n;

  if (conn == NULL)
    return g_task_return_error (task, error);
  net = virNetworkLookupByName (conn, self->config->network);
  n = net ? virNetworkGetDHCPLeases (net, NULL, &leases, 0) : -1;
  if (n < 0)
    {
      pvm_set_libvirt_error (&error, "reading DHCP leases");
      return g_task_return_error (task, error);
    }
  /* MAC -> GPtrArray of addresses */
  by_mac = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                  (GDestroyNotify) g_ptr_array_unref);
  for (int i = 0; i < n; i++)
    {
      g_autofree char *mac = g_ascii_strdown (leases[i]->mac, -1);
      GPtrArray *addrs = g_hash_table_lookup (by_mac, mac);
      if (addrs == NULL)
        {
          addrs = g_ptr_array_new_with_free_func (g_free);
          g_hash_table_insert (by_mac, g_strdup (mac), addrs);
        }
      g_ptr_array_add (addrs, g_strdup (leases[i]->ipaddr));
    }
  g_task_return_pointer (task, by_mac, (GDestroyNotify) g_hash_table_unref);
}

static void
leases_done (GObject *source, GAsyncResult *res, gpointer data)
{
  PvmDaemon *self = PVM_DAEMON (source);
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) by_mac = g_task_propagate_pointer (G_TASK (res), &error);
  GHashTableIter iter;
  gpointer vm;

  self->leases_reading = FALSE;
  if (by_mac == NULL)
    {
      g_debug ("%s", error->message);
      return;
    }
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
any_running (PvmDaemon *self)
{
  GHashTableIter iter;
  gpointer vm;

  g_hash_table_iter_init (&iter, self->vms);
  while (g_hash_table_iter_next (&iter, NULL, &vm))
    if (pvm_vm_is_running (vm))
      return TRUE;
  return FALSE;
}

static gboolean
on_leases_timer (gpointer data)
{
  PvmDaemon *self = data;
  g_autoptr(GTask) task = NULL;

  if (self->leases_reading || !any_running (self))
    return G_SOURCE_CONTINUE;
  self->leases_reading = TRUE;
  task = g_task_new (self, NULL, leases_done, NULL);
  g_task_run_in_thread (task, leases_thread);
  return G_SOURCE_CONTINUE;
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
  self->leases_id = g_timeout_add_seconds (LEASES_INTERVAL_SEC, on_leases_timer, self);
}

static void
pvm_daemon_finalize (GObject *object)
{
  PvmDaemon *self = PVM_DAEMON (object);

  g_signal_handlers_disconnect_by_data (self->hypervisor, self);
  g_clear_handle_id (&self->leases_id, g_source_remove);
  g_clear_pointer (&self->vms, g_hash_table_unref);
  g_clear_pointer (&self->creating, g_hash_table_unref);
  g_clear_object (&self->manager);
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
  self->creating = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->object_manager = g_dbus_object_manager_server_new ("/org/projectvm");
}

PvmDaemon *
pvm_daemon_new (PvmConfig *config)
{
  PvmDaemon *self = g_object_new (PVM_TYPE_DAEMON, NULL);

  self->config = config;
  self->hypervisor = pvm_hypervisor_new (config->uri);
  self->manager = pvm_manager_new (self);
  g_signal_connect (self->hypervisor, "synced", G_CALLBACK (on_synced), self);
  g_signal_connect (self->hypervisor, "domain-changed",
                    G_CALLBACK (on_domain_changed), self);
  g_signal_connect (self->hypervisor, "domain-removed",
                    G_CALLBACK (on_domain_removed), self);
  g_signal_connect (self->hypervisor, "disconnected",
                    G_CALLBACK (on_disconnected), self);
  return self;
}
