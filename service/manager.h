/* org.projectvm.Manager on /org/projectvm/Manager: Create and GetVM. */
#pragma once

#include "daemon.h"
#include "pvm-generated.h"

G_BEGIN_DECLS

#define PVM_TYPE_MANAGER (pvm_manager_get_type ())
G_DECLARE_FINAL_TYPE (PvmManager, pvm_manager, PVM, MANAGER, PvmDBusManagerSkeleton)

PvmManager *pvm_manager_new (PvmDaemon *daemon);

G_END_DECLS
