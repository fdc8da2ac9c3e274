/* The libvirt side: one connection, reconnected when libvirtd goes away,
 * libvirt's domain events turned into fresh snapshots of project domains.
 * Every libvirt call runs on a worker thread; signals are emitted on the
 * main context. */
#pragma once

#include <gio/gio.h>
#include <libvirt/libvirt.h>

#include "metadata.h"
#include "virt.h"

G_BEGIN_DECLS

/* What the service knows of one project domain, read in one go. */
typedef struct {
  char *name;            /* VM name (domain name without "project-") */
  int state;             /* virDomainState */
  int reason;            /* its reason code */
  guint64 memory_mib;
  guint32 cpus;
  char *mac;             /* first NIC, or NULL */
  char *console_log;     /* the serial console's log file, or NULL */
  PvmMetadata meta;
} PvmDomainInfo;

void pvm_domain_info_free (PvmDomainInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PvmDomainInfo, pvm_domain_info_free)

/* A short word for libvirt's reason of a state, or NULL. */
const char *pvm_domain_reason_name (int state, int reason);

/* The contract's State names for a virDomainState. */
const char *pvm_domain_state_name (int state);

#define PVM_TYPE_HYPERVISOR (pvm_hypervisor_get_type ())
G_DECLARE_FINAL_TYPE (PvmHypervisor, pvm_hypervisor, PVM, HYPERVISOR, GObject)

/* Signals:
 *  "synced" (GPtrArray *infos): the full set of project domains after a
 *     (re)connect; objects not in it are gone.
 *  "domain-changed" (PvmDomainInfo *info, const char *reason): added or
 *     updated; reason describes the event ("booted", "shutdown", ...).
 *  "domain-removed" (const char *name)
 *  "disconnected" () */
PvmHypervisor *pvm_hypervisor_new (const char *uri);
void pvm_hypervisor_start (PvmHypervisor *self);

/* A new reference to the live connection for a worker thread, or NULL with
 * an error when libvirt is not connected. Free with virConnectClose. */
virConnectPtr pvm_hypervisor_dup_connection (PvmHypervisor *self, GError **error);

/* Reads one project domain on the calling (worker) thread. TRUE with *INFO
 * NULL: the domain is not ours (or went away meanwhile). */
gboolean pvm_domain_info_read (virDomainPtr dom, PvmDomainInfo **info, GError **error);

G_END_DECLS
