/* The service: the object manager at /org/projectvm, the Manager object and
 * one VM object per project domain, kept in step with the hypervisor. */
#pragma once

#include <gio/gio.h>

#include "config.h"
#include "hypervisor.h"

G_BEGIN_DECLS

#define PVM_TYPE_DAEMON (pvm_daemon_get_type ())
G_DECLARE_FINAL_TYPE (PvmDaemon, pvm_daemon, PVM, DAEMON, GObject)

typedef struct _PvmVm PvmVm;

/* Takes ownership of config. */
PvmDaemon *pvm_daemon_new (PvmConfig *config);
void pvm_daemon_export (PvmDaemon *self, GDBusConnection *connection);

const PvmConfig *pvm_daemon_get_config (PvmDaemon *self);
PvmHypervisor *pvm_daemon_get_hypervisor (PvmDaemon *self);
PvmVm *pvm_daemon_find_vm (PvmDaemon *self, const char *name);

/* Applies a snapshot read by a method's worker, as an event would. */
void pvm_daemon_apply_info (PvmDaemon *self, const PvmDomainInfo *info,
                            PvmReason reason);
void pvm_daemon_remove_vm (PvmDaemon *self, const char *name);

/* Names with a Create under way: a second Create of one gets Busy. */
gboolean pvm_daemon_claim_name (PvmDaemon *self, const char *name);
void pvm_daemon_release_name (PvmDaemon *self, const char *name);

G_END_DECLS
