/* start, stop and destroy. */
#include "client.h"

#include <stdio.h>
#include <unistd.h>

/* A call that may wait for a person at a polkit prompt, or for a guest. */
#define LONG_CALL_MS (10 * 60 * 1000)
#define TIMEOUT_MAX_SEC 86400

static gboolean opt_wait;
static gboolean opt_force;
static gboolean opt_keep_data;
static gboolean opt_yes;
static char *opt_timeout;

/* --timeout: whole seconds, at least MIN; *OUT stays when it is not given. */
static gboolean
parse_timeout (const PvmClient *client, guint min, guint32 *out, int *status)
{
  guint64 n;

  if (opt_timeout == NULL)
    return TRUE;
  if (!g_ascii_string_to_unsigned (opt_timeout, 10, 0, TIMEOUT_MAX_SEC, &n, NULL))
    {
      *status = pvm_client_usage (client, "invalid timeout \"%s\": use whole seconds from 0 to %d",
                                  opt_timeout, TIMEOUT_MAX_SEC);
      return FALSE;
    }
  if (n < min)
    {
      *status = pvm_client_usage (client, "--timeout must be at least %u second", min);
      return FALSE;
    }
  *out = (guint32) n;
  return TRUE;
}

/* ---- start ---- */

typedef struct {
  GMainLoop *loop;
  GError *error;
  PvmDBusVM *vm;
  gint64 started;
} StartWait;

static void
on_start_done (GObject *source, GAsyncResult *res, gpointer data)
{
  StartWait *w = data;
  GVariant *reply = g_dbus_proxy_call_finish (G_DBUS_PROXY (source), res, &w->error);

  g_clear_pointer (&reply, g_variant_unref);
  g_main_loop_quit (w->loop);
}

static gboolean
on_progress (gpointer data)
{
  StartWait *w = data;
  gint64 secs = (g_get_monotonic_time () - w->started) / G_USEC_PER_SEC;
  const char *ci = pvm_dbus_vm_get_cloud_init (w->vm);

  g_print ("\r\033[K[%3" G_GINT64_FORMAT "s] %s: %s, %s", secs, pvm_dbus_vm_get_name (w->vm),
           pvm_dbus_vm_get_state (w->vm),
           g_strcmp0 (ci, "done") == 0 ? "cloud-init finished"
                                       : "waiting for cloud-init to finish this boot");
  fflush (stdout);
  return G_SOURCE_CONTINUE;
}

/* Runs the Start call, showing its progress on a terminal while it waits
 * for cloud-init; returns its error, if any. */
static GError *
call_start (const PvmClient *client, PvmDBusVM *vm, guint32 timeout, gint64 *elapsed_sec)
{
  StartWait w = { g_main_loop_new (NULL, FALSE), NULL, vm, g_get_monotonic_time () };
  gboolean progress = opt_wait && isatty (STDOUT_FILENO);
  guint progress_id = 0;
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  if (opt_wait)
    g_variant_builder_add (&b, "{sv}", "wait", g_variant_new_boolean (TRUE));
  if (opt_timeout)
    g_variant_builder_add (&b, "{sv}", "timeout-sec", g_variant_new_uint32 (timeout));
  /* The call lasts as long as the wait; D-Bus's default 25 s would cut it. */
  pvm_client_call_async (client, vm, "Start",
                         g_variant_new ("(@a{sv})", g_variant_builder_end (&b)),
                         opt_wait ? (int) MIN ((timeout + 60) * 1000ULL, G_MAXINT) : LONG_CALL_MS,
                         on_start_done, &w);
  if (progress)
    progress_id = g_timeout_add (500, on_progress, &w);
  g_main_loop_run (w.loop);
  g_clear_handle_id (&progress_id, g_source_remove);
  g_main_loop_unref (w.loop);
  if (progress)
    g_print ("\r\033[K");
  *elapsed_sec = (g_get_monotonic_time () - w.started) / G_USEC_PER_SEC;
  return w.error;
}

static int
run_start (const PvmClient *client, const PvmArgs *args)
{
  const char *name = args->args[0];
  guint32 timeout = 600;
  g_autoptr(GError) error = NULL;
  g_autoptr(PvmDBusVM) vm = NULL;
  gint64 elapsed;
  int status;

  if (!parse_timeout (client, 1, &timeout, &status))
    return status;
  vm = pvm_client_get_vm (client, name, &error);
  if (vm == NULL)
    return pvm_client_print_error (error), EXIT_FAILED;
  error = call_start (client, vm, timeout, &elapsed);
  if (error != NULL)
    return pvm_client_print_error (error), EXIT_FAILED;
  if (opt_wait)
    g_print ("%s is running; cloud-init finished (%" G_GINT64_FORMAT " s)\n", name, elapsed);
  else
    g_print ("%s is running\n", name);
  return EXIT_OK;
}

static const GOptionEntry start_entries[] = {
  { "wait", 0, 0, G_OPTION_ARG_NONE, &opt_wait,
    "Return when cloud-init has finished this boot", NULL },
  { "timeout", 0, 0, G_OPTION_ARG_STRING, &opt_timeout,
    "Wait up to SEC (default: the service's setting)", "SEC" },
  G_OPTION_ENTRY_NULL
};

const PvmCommand pvm_command_start = {
  "start", "NAME", "Boot a VM; --wait until cloud-init has finished",
  "Boot the VM; starting a running VM changes nothing. With --wait, return\n"
  "only when cloud-init has finished this boot (shown as it goes on a\n"
  "terminal), or fail after --timeout seconds and leave the VM running.",
  start_entries, 1, 1, FALSE, run_start,
};

/* ---- stop ---- */

static int
run_stop (const PvmClient *client, const PvmArgs *args)
{
  const char *name = args->args[0];
  guint32 timeout = 60;
  g_autoptr(GError) error = NULL;
  g_autoptr(PvmDBusVM) vm = NULL;
  g_autofree char *outcome = NULL;
  g_autoptr(GVariant) reply = NULL;
  GVariantBuilder b;
  int status;

  if (!parse_timeout (client, 0, &timeout, &status))
    return status;
  vm = pvm_client_get_vm (client, name, &error);
  if (vm == NULL)
    return pvm_client_print_error (error), EXIT_FAILED;
  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  if (opt_force)
    g_variant_builder_add (&b, "{sv}", "force", g_variant_new_boolean (TRUE));
  if (opt_timeout)
    g_variant_builder_add (&b, "{sv}", "timeout-sec", g_variant_new_uint32 (timeout));
  reply = pvm_client_call (client, vm, "Stop",
                           g_variant_new ("(@a{sv})", g_variant_builder_end (&b)),
                           (int) MIN ((timeout + 60) * 1000ULL, G_MAXINT), NULL, &error);
  if (reply == NULL)
    return pvm_client_print_error (error), EXIT_FAILED;
  g_variant_get (reply, "(s)", &outcome);
  g_print ("%s stopped: %s\n", name, outcome);
  return EXIT_OK;
}

static const GOptionEntry stop_entries[] = {
  { "timeout", 0, 0, G_OPTION_ARG_STRING, &opt_timeout,
    "Wait SEC for the guest, then power off (default 60)", "SEC" },
  { "force", 0, 0, G_OPTION_ARG_NONE, &opt_force, "Power off at once", NULL },
  G_OPTION_ENTRY_NULL
};

const PvmCommand pvm_command_stop = {
  "stop", "NAME", "Shut a VM down; power it off after a timeout",
  "Ask the guest to shut down (ACPI), wait for it up to --timeout seconds,\n"
  "then power it off. Prints how it went: graceful, forced or\n"
  "already-stopped. --force powers off at once.",
  stop_entries, 1, 1, FALSE, run_stop,
};

/* ---- destroy ---- */

static int
run_destroy (const PvmClient *client, const PvmArgs *args)
{
  const char *name = args->args[0];
  g_autoptr(GError) error = NULL;
  g_autoptr(PvmDBusVM) vm = pvm_client_get_vm (client, name, &error);
  g_autoptr(GVariant) reply = NULL;
  GVariantBuilder b;

  if (vm == NULL)
    return pvm_client_print_error (error), EXIT_FAILED;
  if (!opt_yes && isatty (STDIN_FILENO))
    {
      g_autofree char *q = opt_keep_data
          ? g_strdup_printf ("Destroy %s (the project disk is kept)?", name)
          : g_strdup_printf ("Destroy %s and delete its project disk with all data on it?", name);
      if (!pvm_confirm (q))
        return pvm_client_fail ("not destroyed");
    }
  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  if (opt_keep_data)
    g_variant_builder_add (&b, "{sv}", "keep-data", g_variant_new_boolean (TRUE));
  reply = pvm_client_call (client, vm, "Destroy",
                           g_variant_new ("(@a{sv})", g_variant_builder_end (&b)),
                           LONG_CALL_MS, NULL, &error);
  if (reply == NULL)
    return pvm_client_print_error (error), EXIT_FAILED;
  g_print ("destroyed %s%s\n", name,
           opt_keep_data ? " (project disk kept; create it again to reattach)" : "");
  return EXIT_OK;
}

static const GOptionEntry destroy_entries[] = {
  { "keep-data", 0, 0, G_OPTION_ARG_NONE, &opt_keep_data,
    "Keep the project disk for the next create of NAME", NULL },
  { "yes", 0, 0, G_OPTION_ARG_NONE, &opt_yes, "Do not ask first", NULL },
  G_OPTION_ENTRY_NULL
};

const PvmCommand pvm_command_destroy = {
  "destroy", "NAME", "Remove a VM and its disks",
  "Power the VM off and remove it: the domain, the system disk, the seed and\n"
  "the console log, and the project disk with all data on it unless\n"
  "--keep-data is given. On a terminal it asks first (--yes does not).",
  destroy_entries, 1, 1, FALSE, run_destroy,
};
