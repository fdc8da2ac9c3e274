/* The libvirt side: one connection, reconnected when libvirtd goes away,
 * libvirt's domain events turned into fresh snapshots of project domains.
 * Every libvirt call runs on a worker thread; signals are emitted on the
 * main context. */
#pragma once

#include <gio/gio.h>
#include <libvirt/libvirt.h>

#include "domain-info.h"
#include "virt.h"

G_BEGIN_DECLS

#define PVM_TYPE_HYPERVISOR (pvm_hypervisor_get_type ())
G_DECLARE_FINAL_TYPE (PvmHypervisor, pvm_hypervisor, PVM, HYPERVISOR, GObject)

/* Signals:
 *  "synced" (GPtrArray *infos): the full set of project domains after a
 *     (re)connect; objects not in it are gone.
 *  "domain-changed" (PvmDomainInfo *info, guint reason): added or
 *     updated; REASON (a PvmReason) says why: libvirt's own reason
 *     of the state when it names one, else the event's.
 *  "domain-removed" (const char *name)
 *  "disconnected" () */
PvmHypervisor *pvm_hypervisor_new (const char *uri);
void pvm_hypervisor_start (PvmHypervisor *self);

/* A new reference to the live connection for a worker thread, or NULL with
 * an error when libvirt is not connected. Free with virConnectClose. */
virConnectPtr pvm_hypervisor_dup_connection (PvmHypervisor *self, GError **error);

G_END_DECLS
