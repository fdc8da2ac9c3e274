#include "lease-monitor.h"

#include "virt.h"

#define LEASES_INTERVAL_SEC 2

struct _PvmLeaseMonitor {
  GObject parent;

  PvmHypervisor *hypervisor;
  char *network;
  PvmLeasesWantedFunc wanted;
  gpointer wanted_data;
  guint timer_id;
  gboolean reading;
};

G_DEFINE_TYPE (PvmLeaseMonitor, pvm_lease_monitor, G_TYPE_OBJECT)

enum { SIG_LEASES, N_SIGNALS };
static guint signals[N_SIGNALS];

static void
free_leases (virNetworkDHCPLeasePtr *leases)
{
  for (virNetworkDHCPLeasePtr *l = leases; l != NULL && *l != NULL; l++)
    virNetworkDHCPLeaseFree (*l);
  free (leases);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (virNetworkDHCPLeasePtr, free_leases)

static GHashTable *
by_mac (virNetworkDHCPLeasePtr *leases, int n)
{
  GHashTable *table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                             (GDestroyNotify) g_ptr_array_unref);

  for (int i = 0; i < n; i++)
    {
      g_autofree char *mac = g_ascii_strdown (leases[i]->mac, -1);
      GPtrArray *addrs = g_hash_table_lookup (table, mac);

      if (addrs == NULL)
        {
          addrs = g_ptr_array_new_with_free_func (g_free);
          g_hash_table_insert (table, g_strdup (mac), addrs);
        }
      g_ptr_array_add (addrs, g_strdup (leases[i]->ipaddr));
    }
  return table;
}

static void
leases_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  PvmLeaseMonitor *self = source;
  GError *error = NULL;
  g_autoptr(virConnect) conn = pvm_hypervisor_dup_connection (self->hypervisor, &error);
  g_autoptr(virNetwork) net = NULL;
  g_autoptr(virNetworkDHCPLeasePtr) leases = NULL;
  int n;

  if (conn == NULL)
    return g_task_return_error (task, error);
  net = virNetworkLookupByName (conn, self->network);
  n = net ? virNetworkGetDHCPLeases (net, NULL, &leases, 0) : -1;
  if (n < 0)
    {
      pvm_set_libvirt_error (&error, "reading DHCP leases");
      return g_task_return_error (task, error);
    }
  g_task_return_pointer (task, by_mac (leases, n), (GDestroyNotify) g_hash_table_unref);
}

static void
leases_done (GObject *source, GAsyncResult *res, gpointer data)
{
  PvmLeaseMonitor *self = PVM_LEASE_MONITOR (source);
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) table = g_task_propagate_pointer (G_TASK (res), &error);

  self->reading = FALSE;
  if (table == NULL)
    g_debug ("%s", error->message);
  else
    g_signal_emit (self, signals[SIG_LEASES], 0, table);
}

static gboolean
on_timer (gpointer data)
{
  PvmLeaseMonitor *self = data;
  g_autoptr(GTask) task = NULL;

  if (self->reading || !self->wanted (self->wanted_data))
    return G_SOURCE_CONTINUE;
  self->reading = TRUE;
  task = g_task_new (self, NULL, leases_done, NULL);
  g_task_run_in_thread (task, leases_thread);
  return G_SOURCE_CONTINUE;
}

void
pvm_lease_monitor_start (PvmLeaseMonitor *self)
{
  if (self->timer_id == 0)
    self->timer_id = g_timeout_add_seconds (LEASES_INTERVAL_SEC, on_timer, self);
}

static void
pvm_lease_monitor_finalize (GObject *object)
{
  PvmLeaseMonitor *self = PVM_LEASE_MONITOR (object);

  g_clear_handle_id (&self->timer_id, g_source_remove);
  g_clear_object (&self->hypervisor);
  g_free (self->network);
  G_OBJECT_CLASS (pvm_lease_monitor_parent_class)->finalize (object);
}

static void
pvm_lease_monitor_class_init (PvmLeaseMonitorClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pvm_lease_monitor_finalize;
  signals[SIG_LEASES] = g_signal_new ("leases", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_HASH_TABLE);
}

static void
pvm_lease_monitor_init (PvmLeaseMonitor *self)
{
}

PvmLeaseMonitor *
pvm_lease_monitor_new (PvmHypervisor *hypervisor, const char *network,
                       PvmLeasesWantedFunc wanted, gpointer user_data)
{
  PvmLeaseMonitor *self = g_object_new (PVM_TYPE_LEASE_MONITOR, NULL);

  self->hypervisor = g_object_ref (hypervisor);
  self->network = g_strdup (network);
  self->wanted = wanted;
  self->wanted_data = user_data;
  return self;
}
