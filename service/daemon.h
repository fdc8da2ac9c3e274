/* The service: the object manager at /org/projectvm, the Manager object and
 * one VM object per project domain, kept in step with the hypervisor. */
#pragma once

#include <gio/gio.h>

#include "config.h"

G_BEGIN_DECLS

#define PVM_TYPE_DAEMON (pvm_daemon_get_type ())
G_DECLARE_FINAL_TYPE (PvmDaemon, pvm_daemon, PVM, DAEMON, GObject)

/* Takes ownership of config. */
PvmDaemon *pvm_daemon_new (PvmConfig *config);
void pvm_daemon_export (PvmDaemon *self, GDBusConnection *connection);

G_END_DECLS
