/* What the service knows of one project domain, read from libvirt in one
 * go, and the two enums it is told in: the contract's VM state and the
 * reason of a change. Their names are D-Bus words: only the code that
 * sets a property or emits a signal asks for them. */
#pragma once

#include <gio/gio.h>
#include <libvirt/libvirt.h>

#include "metadata.h"

G_BEGIN_DECLS

typedef struct {
  char *name;            /* VM name (domain name without "project-") */
  virDomainState state;
  int reason;            /* its reason code (virDomainRunningReason, ...) */
  guint64 memory_mib;
  guint32 cpus;
  char *mac;             /* first NIC, or NULL */
  char *console_log;     /* the serial console's log file, or NULL */
  PvmMetadata meta;
} PvmDomainInfo;

void pvm_domain_info_free (PvmDomainInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PvmDomainInfo, pvm_domain_info_free)

/* Reads one project domain on the calling (worker) thread. TRUE with *INFO
 * NULL: the domain is not ours (or went away meanwhile). */
gboolean pvm_domain_info_read (virDomainPtr dom, PvmDomainInfo **info, GError **error);

/* The State property. */
typedef enum {
  PVM_VM_STATE_UNKNOWN,
  PVM_VM_STATE_RUNNING,
  PVM_VM_STATE_PAUSED,
  PVM_VM_STATE_SHUTTING_DOWN,
  PVM_VM_STATE_SHUTOFF,
  PVM_VM_STATE_CRASHED,
  PVM_VM_STATE_SUSPENDED,
} PvmVmState;

PvmVmState pvm_vm_state_from_domain (virDomainState state);
const char *pvm_vm_state_name (PvmVmState state);

/* StateChanged's reason: libvirt's reason of a state, the event that told
 * of it, or the service's own. */
typedef enum {
  PVM_REASON_UNKNOWN,
  PVM_REASON_BOOTED,
  PVM_REASON_RESUMED,
  PVM_REASON_RESTORED,
  PVM_REASON_WOKEN,
  PVM_REASON_CRASHED,
  PVM_REASON_SHUTDOWN,
  PVM_REASON_DESTROYED,
  PVM_REASON_SAVED,
  PVM_REASON_FAILED,
  PVM_REASON_STOPPED,
  PVM_REASON_PAUSED,
  PVM_REASON_SHUTTING_DOWN,
  PVM_REASON_SUSPENDED,
  PVM_REASON_DEFINED,
  PVM_REASON_UNDEFINED,
  PVM_REASON_SYNCED,
  PVM_REASON_CREATED,
  PVM_REASON_LIBVIRT_DISCONNECTED,
} PvmReason;

/* libvirt's reason for the domain's state; UNKNOWN when it names none. */
PvmReason pvm_domain_info_reason (const PvmDomainInfo *info);
const char *pvm_reason_name (PvmReason reason);

G_END_DECLS
