/* org.projectvm.Manager on /org/projectvm/Manager: Create, GetVM,
 * DeleteKeptDisk and KeptDisks (read from libvirt on each sync), and the
 * names with a Create under way (a second Create of one gets Busy). */
#pragma once

#include "config.h"
#include "domain-info.h"
#include "hypervisor.h"
#include "kept.h"
#include "pvm-generated.h"

G_BEGIN_DECLS

#define PVM_TYPE_MANAGER (pvm_manager_get_type ())
G_DECLARE_FINAL_TYPE (PvmManager, pvm_manager, PVM, MANAGER, PvmDBusManagerSkeleton)

/* VMS (VM name -> its object) is the daemon's, read to tell whether a
 * name is taken; CONFIG must outlive the manager.
 * Signal "created" (PvmDomainInfo *info): a new VM, to export before
 * Create answers with its path. */
PvmManager *pvm_manager_new (const PvmConfig *config, PvmHypervisor *hypervisor,
                             PvmKept *kept, GHashTable *vms);

G_END_DECLS
