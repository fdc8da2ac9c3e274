#include "operation.h"

struct _PvmOperation {
  gatomicrefcount ref;
  PvmOperationKind kind;
  PvmPhase phase;
  GObject *target;
  GDBusMethodInvocation *invocation;   /* our own reference */
  GVariant *options;
  PvmOperationParams params;
  PvmOperationDoneFunc done;
  PvmOperationTimeoutFunc on_timeout;
  gpointer timeout_data;
  guint timer_id;
};

PvmOperation *
pvm_operation_new (PvmOperationKind kind, gpointer target,
                   GDBusMethodInvocation *invocation, GVariant *options,
                   PvmOperationDoneFunc done)
{
  PvmOperation *op = g_new0 (PvmOperation, 1);

  g_atomic_ref_count_init (&op->ref);
  op->kind = kind;
  op->phase = PVM_PHASE_WORKING;
  op->target = target != NULL ? g_object_ref (G_OBJECT (target)) : NULL;
  op->invocation = invocation != NULL ? g_object_ref (invocation) : NULL;
  op->options = options != NULL ? g_variant_ref_sink (options) : NULL;
  op->done = done;
  return op;
}

PvmOperation *
pvm_operation_ref (PvmOperation *op)
{
  g_atomic_ref_count_inc (&op->ref);
  return op;
}

void
pvm_operation_unref (PvmOperation *op)
{
  if (!g_atomic_ref_count_dec (&op->ref))
    return;
  g_clear_handle_id (&op->timer_id, g_source_remove);
  g_clear_object (&op->target);
  g_clear_object (&op->invocation);
  g_clear_pointer (&op->options, g_variant_unref);
  g_free (op);
}

PvmOperationKind
pvm_operation_get_kind (PvmOperation *op)
{
  return op->kind;
}

PvmPhase
pvm_operation_get_phase (PvmOperation *op)
{
  return op->phase;
}

const char *
pvm_operation_get_name (PvmOperation *op)
{
  static const char * const names[] = {
    [PVM_OPERATION_START] = "start",
    [PVM_OPERATION_STOP] = "stop",
    [PVM_OPERATION_DESTROY] = "destroy",
    [PVM_OPERATION_CONSOLE] = "console",
  };
  return names[op->kind];
}

GVariant *
pvm_operation_get_options (PvmOperation *op)
{
  return op->options;
}

PvmOperationParams *
pvm_operation_get_params (PvmOperation *op)
{
  return &op->params;
}

gpointer
pvm_operation_get_target (PvmOperation *op)
{
  return op->target;
}

static gboolean
on_timer (gpointer data)
{
  PvmOperation *op = data;

  op->timer_id = 0;
  if (op->phase == PVM_PHASE_WAITING && op->on_timeout != NULL)
    op->on_timeout (op, op->timeout_data);
  return G_SOURCE_REMOVE;
}

void
pvm_operation_wait (PvmOperation *op, PvmOperationTimeoutFunc on_timeout,
                    gpointer user_data)
{
  g_return_if_fail (op->phase == PVM_PHASE_WORKING);
  op->phase = PVM_PHASE_WAITING;
  op->on_timeout = on_timeout;
  op->timeout_data = user_data;
  op->timer_id = g_timeout_add_seconds_full (G_PRIORITY_DEFAULT, op->params.timeout_sec,
                                             on_timer, pvm_operation_ref (op),
                                             (GDestroyNotify) pvm_operation_unref);
}

void
pvm_operation_force (PvmOperation *op)
{
  g_return_if_fail (op->phase == PVM_PHASE_WAITING);
  g_clear_handle_id (&op->timer_id, g_source_remove);
  op->phase = PVM_PHASE_FORCING;
}

/* Ends the operation once an answer has been given. */
static void
finish (PvmOperation *op, const GError *error)
{
  g_autoptr(GObject) target = g_steal_pointer (&op->target);

  /* The timer may hold the last reference: keep one until done. */
  pvm_operation_ref (op);
  op->phase = PVM_PHASE_DONE;
  g_clear_handle_id (&op->timer_id, g_source_remove);
  g_clear_object (&op->invocation);
  if (op->done != NULL)
    op->done (op, error, target);
  pvm_operation_unref (op);
}

gboolean
pvm_operation_return_value (PvmOperation *op, GVariant *value, GUnixFDList *fds)
{
  if (op->phase == PVM_PHASE_DONE)
    {
      if (value != NULL)
        g_variant_unref (g_variant_ref_sink (value));
      return FALSE;
    }
  /* Answering consumes the reference GDBus handed to the handler. */
  if (op->invocation != NULL)
    g_dbus_method_invocation_return_value_with_unix_fd_list (op->invocation, value, fds);
  else if (value != NULL)
    g_variant_unref (g_variant_ref_sink (value));
  finish (op, NULL);
  return TRUE;
}

gboolean
pvm_operation_return_error (PvmOperation *op, const GError *error)
{
  if (op->phase == PVM_PHASE_DONE)
    return FALSE;
  if (op->invocation != NULL)
    g_dbus_method_invocation_return_gerror (op->invocation, error);
  finish (op, error);
  return TRUE;
}

gboolean
pvm_operation_yields_to (PvmOperation *op, PvmOperationKind incoming)
{
  return incoming == PVM_OPERATION_DESTROY && op->kind == PVM_OPERATION_START &&
         op->phase == PVM_PHASE_WAITING;
}
