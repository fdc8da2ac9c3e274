/* The one authorization check every method goes through: the caller's uid
 * from the bus, the owner rule (acting on another user's VM needs
 * org.projectvm.manage-others), and an asynchronous polkit check. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define PVM_ACTION_CREATE "org.projectvm.create"
#define PVM_ACTION_MANAGE "org.projectvm.manage"
#define PVM_ACTION_DESTROY "org.projectvm.destroy"
#define PVM_ACTION_MANAGE_OTHERS "org.projectvm.manage-others"

/* Called on the main context when the caller may go on. On a denial the
 * invocation has been answered with NotAuthorized and this is not called.
 * The callback owns user_data (free it with the destroy function given). */
typedef void (*PvmAuthorizedFunc) (GDBusMethodInvocation *invocation,
                                   guint32 caller_uid, gpointer user_data);

/* A call on a VM: ACTION is the action for the VM's owner; for any other
 * caller (an OWNER no caller has, such as 4294967295, included) it is
 * manage-others. VM_NAME goes into the message polkit shows. On a denial
 * USER_DATA is freed with DESTROY; when granted it passes to FUNC. */
void pvm_authority_check (GDBusMethodInvocation *invocation,
                          const char *action, const char *vm_name,
                          guint32 owner, PvmAuthorizedFunc func,
                          gpointer user_data, GDestroyNotify destroy);
/* A call on nothing anyone owns yet (Create; DeleteKeptDisk of a name no
 * kept disk has): ACTION alone, no owner rule; VM_NAME is the name asked
 * for. */
void pvm_authority_check_unowned (GDBusMethodInvocation *invocation, const char *action,
                                  const char *vm_name, PvmAuthorizedFunc func,
                                  gpointer user_data, GDestroyNotify destroy);

G_END_DECLS
