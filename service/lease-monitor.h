/* The guests' addresses: one DHCP lease query of the configured network
 * every few seconds while any VM runs (the WANTED function says so), off
 * the main thread; each answer is emitted as a signal (in the way of
 * udisks' utab monitor). */
#pragma once

#include <gio/gio.h>

#include "hypervisor.h"

G_BEGIN_DECLS

#define PVM_TYPE_LEASE_MONITOR (pvm_lease_monitor_get_type ())
G_DECLARE_FINAL_TYPE (PvmLeaseMonitor, pvm_lease_monitor, PVM, LEASE_MONITOR, GObject)

/* Is a query worth making now? */
typedef gboolean (*PvmLeasesWantedFunc) (gpointer user_data);

/* Signal "leases" (GHashTable *by_mac): lower-case MAC -> GPtrArray of
 * address strings, for every lease the network holds. */
PvmLeaseMonitor *pvm_lease_monitor_new (PvmHypervisor *hypervisor, const char *network,
                                        PvmLeasesWantedFunc wanted, gpointer user_data);
void pvm_lease_monitor_start (PvmLeaseMonitor *self);

G_END_DECLS
