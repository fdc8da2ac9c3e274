/* Unit tests for service/operation.c: one in-flight call driven through
 * its phases without libvirt or D-Bus (no invocation): it answers once,
 * its timer ends with the answer, and Destroy may end a waiting Start. */
#include <gio/gio.h>

#include "errors.h"
#include "operation.h"

typedef struct {
  guint done_calls;
  GError *done_error;      /* copy of the last answer's error */
  guint timeouts;
} Seen;

static Seen seen;

static void
reset (void)
{
  g_clear_error (&seen.done_error);
  seen = (Seen) { 0 };
}

static void
on_done (PvmOperation *op, const GError *error, gpointer target)
{
  seen.done_calls++;
  g_clear_error (&seen.done_error);
  if (error != NULL)
    seen.done_error = g_error_copy (error);
}

static void
on_timeout_answer (PvmOperation *op, gpointer data)
{
  g_autoptr(GError) error = g_error_new (PVM_ERROR, PVM_ERROR_TIMEOUT, "timed out");

  seen.timeouts++;
  g_assert_cmpint (pvm_operation_get_phase (op), ==, PVM_PHASE_WAITING);
  g_assert_true (data == &seen);
  g_assert_true (pvm_operation_return_error (op, error));
}

static void
on_timeout_count (PvmOperation *op, gpointer data)
{
  seen.timeouts++;
}

static gboolean
quit_loop (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

/* Runs the main loop for MS milliseconds. */
static void
spin (guint ms)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);

  g_timeout_add (ms, quit_loop, loop);
  g_main_loop_run (loop);
}

static PvmOperation *
new_op (PvmOperationKind kind, gpointer target)
{
  return pvm_operation_new (kind, target, NULL, g_variant_new ("a{sv}", NULL), on_done);
}

static void
test_answers_once (void)
{
  g_autoptr(PvmOperation) op = new_op (PVM_OPERATION_STOP, NULL);
  g_autoptr(GError) error = g_error_new (PVM_ERROR, PVM_ERROR_FAILED, "late");

  reset ();
  g_assert_cmpint (pvm_operation_get_phase (op), ==, PVM_PHASE_WORKING);
  g_assert_cmpstr (pvm_operation_get_name (op), ==, "stop");
  g_assert_true (pvm_operation_return_value (op, g_variant_new ("(s)", "graceful"), NULL));
  g_assert_cmpint (pvm_operation_get_phase (op), ==, PVM_PHASE_DONE);
  g_assert_cmpuint (seen.done_calls, ==, 1);
  g_assert_no_error (seen.done_error);

  /* Whoever comes second is refused and changes nothing. */
  g_assert_false (pvm_operation_return_error (op, error));
  g_assert_false (pvm_operation_return_value (op, g_variant_new ("(s)", "forced"), NULL));
  g_assert_cmpuint (seen.done_calls, ==, 1);
  g_assert_no_error (seen.done_error);
}

static void
test_error_answer (void)
{
  g_autoptr(PvmOperation) op = new_op (PVM_OPERATION_START, NULL);
  g_autoptr(GError) error = g_error_new (PVM_ERROR, PVM_ERROR_BUSY, "busy");

  reset ();
  g_assert_true (pvm_operation_return_error (op, error));
  g_assert_error (seen.done_error, PVM_ERROR, PVM_ERROR_BUSY);
  g_assert_false (pvm_operation_return_value (op, NULL, NULL));
  g_assert_cmpuint (seen.done_calls, ==, 1);
}

static void
test_target_released_on_answer (void)
{
  GObject *target = g_object_new (G_TYPE_OBJECT, NULL);
  g_autoptr(PvmOperation) op = new_op (PVM_OPERATION_START, target);

  reset ();
  g_object_add_weak_pointer (target, (gpointer *) &target);
  g_object_unref (target);          /* the operation keeps it now */
  g_assert_nonnull (target);
  g_assert_true (pvm_operation_get_target (op) == target);
  pvm_operation_return_value (op, NULL, NULL);
  g_assert_null (target);           /* let go of with the answer */
  g_assert_null (pvm_operation_get_target (op));
}

static void
test_timeout_fires_while_waiting (void)
{
  g_autoptr(PvmOperation) op = new_op (PVM_OPERATION_START, NULL);

  reset ();
  pvm_operation_get_params (op)->timeout_sec = 1;
  pvm_operation_wait (op, on_timeout_answer, &seen);
  g_assert_cmpint (pvm_operation_get_phase (op), ==, PVM_PHASE_WAITING);
  for (int i = 0; i < 30 && seen.timeouts == 0; i++)
    spin (100);
  g_assert_cmpuint (seen.timeouts, ==, 1);
  g_assert_cmpuint (seen.done_calls, ==, 1);
  g_assert_error (seen.done_error, PVM_ERROR, PVM_ERROR_TIMEOUT);
  g_assert_cmpint (pvm_operation_get_phase (op), ==, PVM_PHASE_DONE);
}

static void
test_answer_cancels_timer (void)
{
  PvmOperation *op = new_op (PVM_OPERATION_STOP, NULL);

  reset ();
  pvm_operation_get_params (op)->timeout_sec = 1;
  pvm_operation_wait (op, on_timeout_count, NULL);
  g_assert_true (pvm_operation_return_value (op, g_variant_new ("(s)", "graceful"), NULL));
  pvm_operation_unref (op);         /* the last one: the timer's went with the answer */
  spin (2200);
  g_assert_cmpuint (seen.timeouts, ==, 0);
  g_assert_cmpuint (seen.done_calls, ==, 1);
}

static void
test_force_cancels_timer (void)
{
  g_autoptr(PvmOperation) op = new_op (PVM_OPERATION_STOP, NULL);

  reset ();
  pvm_operation_get_params (op)->timeout_sec = 1;
  pvm_operation_wait (op, on_timeout_count, NULL);
  pvm_operation_force (op);
  g_assert_cmpint (pvm_operation_get_phase (op), ==, PVM_PHASE_FORCING);
  spin (2200);
  g_assert_cmpuint (seen.timeouts, ==, 0);
  g_assert_cmpuint (seen.done_calls, ==, 0);
  g_assert_true (pvm_operation_return_value (op, g_variant_new ("(s)", "forced"), NULL));
  g_assert_cmpuint (seen.done_calls, ==, 1);
}

static void
test_destroy_ends_a_wait (void)
{
  g_autoptr(PvmOperation) start = new_op (PVM_OPERATION_START, NULL);
  g_autoptr(PvmOperation) stop = new_op (PVM_OPERATION_STOP, NULL);
  g_autoptr(GError) error = g_error_new (PVM_ERROR, PVM_ERROR_FAILED,
                                         "destroyed while waiting for cloud-init");

  reset ();
  /* A Start still starting, and a Stop, make Destroy Busy. */
  g_assert_false (pvm_operation_yields_to (start, PVM_OPERATION_DESTROY));
  pvm_operation_get_params (stop)->timeout_sec = 1;
  pvm_operation_wait (stop, on_timeout_count, NULL);
  g_assert_false (pvm_operation_yields_to (stop, PVM_OPERATION_DESTROY));
  pvm_operation_force (stop);

  /* A Start waiting for cloud-init gives way to Destroy only. */
  pvm_operation_get_params (start)->timeout_sec = 1;
  pvm_operation_wait (start, on_timeout_count, NULL);
  g_assert_false (pvm_operation_yields_to (start, PVM_OPERATION_STOP));
  g_assert_false (pvm_operation_yields_to (start, PVM_OPERATION_START));
  g_assert_true (pvm_operation_yields_to (start, PVM_OPERATION_DESTROY));
  g_assert_true (pvm_operation_return_error (start, error));
  g_assert_error (seen.done_error, PVM_ERROR, PVM_ERROR_FAILED);
  g_assert_false (pvm_operation_yields_to (start, PVM_OPERATION_DESTROY));

  /* cloud-init finishing afterwards answers nothing, and no timer fires. */
  g_assert_false (pvm_operation_return_value (start, NULL, NULL));
  spin (2200);
  g_assert_cmpuint (seen.timeouts, ==, 0);
  g_assert_cmpuint (seen.done_calls, ==, 1);
  pvm_operation_return_value (stop, g_variant_new ("(s)", "forced"), NULL);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/operation/answers-once", test_answers_once);
  g_test_add_func ("/operation/error-answer", test_error_answer);
  g_test_add_func ("/operation/target-released-on-answer", test_target_released_on_answer);
  g_test_add_func ("/operation/timeout-fires-while-waiting", test_timeout_fires_while_waiting);
  g_test_add_func ("/operation/answer-cancels-timer", test_answer_cancels_timer);
  g_test_add_func ("/operation/force-cancels-timer", test_force_cancels_timer);
  g_test_add_func ("/operation/destroy-ends-a-wait", test_destroy_ends_a_wait);
  return g_test_run ();
}
