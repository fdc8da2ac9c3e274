/* One in-flight method call on a VM, from its authorization to its answer
 * (in the spirit of machined's operation.c): its kind, its phase, its
 * invocation and options, its timer, and how it answers. It answers once:
 * a second answer is refused, so no caller asks "did I answer already?".
 * The phase says what it waits for; answering ends the timer and tells the
 * owner (DONE_FUNC), which then lets go of it. Nothing here touches
 * libvirt: tests/test-operation.c drives it through its phases. */
#pragma once

#include <gio/gio.h>
#include <gio/gunixfdlist.h>

G_BEGIN_DECLS

typedef enum {
  PVM_OPERATION_START,
  PVM_OPERATION_STOP,
  PVM_OPERATION_DESTROY,
  PVM_OPERATION_CONSOLE,
} PvmOperationKind;

typedef enum {
  PVM_PHASE_WORKING,   /* a libvirt step runs on a worker thread */
  PVM_PHASE_WAITING,   /* answered by an event (cloud-init, shutoff) or the timer */
  PVM_PHASE_FORCING,   /* Stop: the wait timed out, the power-off runs */
  PVM_PHASE_DONE,      /* answered */
} PvmPhase;

/* The options a lifecycle method was given, parsed. */
typedef struct {
  gboolean wait;
  guint32 timeout_sec;
  gboolean force;
  gboolean keep_data;
} PvmOperationParams;

typedef struct _PvmOperation PvmOperation;

/* Called once, when the operation is answered; ERROR is NULL on success. */
typedef void (*PvmOperationDoneFunc) (PvmOperation *op, const GError *error,
                                      gpointer target);
/* The wait timed out: the operation is still WAITING, its timer gone. */
typedef void (*PvmOperationTimeoutFunc) (PvmOperation *op, gpointer user_data);

/* TARGET (a GObject, or NULL) is kept until the operation is answered or
 * freed and passed to the callbacks. INVOCATION may be NULL (tests). */
PvmOperation *pvm_operation_new (PvmOperationKind kind, gpointer target,
                                 GDBusMethodInvocation *invocation, GVariant *options,
                                 PvmOperationDoneFunc done);
PvmOperation *pvm_operation_ref (PvmOperation *op);
void pvm_operation_unref (PvmOperation *op);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PvmOperation, pvm_operation_unref)

PvmOperationKind pvm_operation_get_kind (PvmOperation *op);
PvmPhase pvm_operation_get_phase (PvmOperation *op);
/* "start", "stop", "destroy", "console": for messages. */
const char *pvm_operation_get_name (PvmOperation *op);
GVariant *pvm_operation_get_options (PvmOperation *op);
PvmOperationParams *pvm_operation_get_params (PvmOperation *op);
/* The target while the operation is not answered, else NULL. */
gpointer pvm_operation_get_target (PvmOperation *op);

/* WORKING -> WAITING for params->timeout_sec; ON_TIMEOUT (USER_DATA) is
 * called when nothing answered by then. The timer holds a reference;
 * USER_DATA must live as long as the target. */
void pvm_operation_wait (PvmOperation *op, PvmOperationTimeoutFunc on_timeout,
                         gpointer user_data);
/* WAITING -> FORCING (after the timeout): a last step runs. */
void pvm_operation_force (PvmOperation *op);

/* Answers, ends the timer, calls DONE_FUNC and lets go of the target.
 * FALSE (and nothing sent) when it was answered already. VALUE is
 * consumed when floating; FDS may be NULL. */
gboolean pvm_operation_return_value (PvmOperation *op, GVariant *value, GUnixFDList *fds);
gboolean pvm_operation_return_error (PvmOperation *op, const GError *error);

/* May an INCOMING call end OP rather than get Busy? Only Destroy ending a
 * Start that waits for cloud-init. */
gboolean pvm_operation_yields_to (PvmOperation *op, PvmOperationKind incoming);

G_END_DECLS
