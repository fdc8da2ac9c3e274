/* One exported project VM: org.projectvm.VM on /org/projectvm/vm/NAME. */
#pragma once

#include "config.h"
#include "domain-info.h"
#include "hypervisor.h"
#include "kept.h"
#include "pvm-generated.h"

G_BEGIN_DECLS

#define PVM_TYPE_VM (pvm_vm_get_type ())
G_DECLARE_FINAL_TYPE (PvmVm, pvm_vm, PVM, VM, PvmDBusVMSkeleton)

/* CONFIG must outlive the VM; a Destroy with keep-data adds to KEPT.
 * Signal "destroyed" (): Destroy removed the domain; drop the object. */
PvmVm *pvm_vm_new (const PvmConfig *config, PvmHypervisor *hypervisor, PvmKept *kept,
                   const PvmDomainInfo *info, PvmReason reason);
const char *pvm_vm_get_name (PvmVm *self);
/* The system disk's virtual size the Create asked for; 0 for a VM made
 * before it was recorded. */
guint64 pvm_vm_get_root_gib (PvmVm *self);
/* The first NIC's MAC, to find its DHCP lease; NULL when it has none. */
const char *pvm_vm_get_mac (PvmVm *self);
/* NULL or empty: no address known. */
void pvm_vm_set_addresses (PvmVm *self, const char * const *addresses);

/* New facts from libvirt; emits StateChanged when the state moved. */
void pvm_vm_update (PvmVm *self, const PvmDomainInfo *info, PvmReason reason);
gboolean pvm_vm_is_running (PvmVm *self);
/* libvirt went away: the state is no longer known. */
void pvm_vm_set_unknown (PvmVm *self);
/* The VM is being removed: ends any wait on it. */
void pvm_vm_dispose_ops (PvmVm *self);

G_END_DECLS
