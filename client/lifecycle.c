/* create, destroy, start, stop and ssh. */
#include "client.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "validate.h"

/* A call that may wait for a person at a polkit prompt, or for a guest. */
#define LONG_CALL_MS (10 * 60 * 1000)

typedef struct {
  const char *name;
  gboolean has_value;
  const char **value;       /* last value */
  GPtrArray *values;        /* all values, for repeatable options */
  gboolean *flag;
} Opt;

/* Splits ARGV (after the command) into OPTS and positional arguments;
 * stops at "--" and leaves the rest in *REST. */
static gboolean
parse_args (int argc, char **argv, Opt *opts, GPtrArray *positional, char ***rest,
            int *status)
{
  for (int i = 1; i < argc; i++)
    {
      const char *a = argv[i];
      Opt *o = NULL;

      if (g_str_equal (a, "--") && rest != NULL)
        {
          *rest = argv + i + 1;
          return TRUE;
        }
      if (a[0] != '-' || a[1] == '\0')
        {
          g_ptr_array_add (positional, (gpointer) a);
          continue;
        }
      for (Opt *p = opts; p->name != NULL; p++)
        if (g_str_equal (p->name, a))
          o = p;
      if (o == NULL)
        {
          *status = pvm_client_usage ("%s: unknown option %s", argv[0], a);
          return FALSE;
        }
      if (!o->has_value)
        {
          *o->flag = TRUE;
          continue;
        }
      if (i + 1 >= argc)
        {
          *status = pvm_client_usage ("%s: %s needs a value", argv[0], a);
          return FALSE;
        }
      i++;
      if (o->value != NULL)
        *o->value = argv[i];
      if (o->values != NULL)
        g_ptr_array_add (o->values, argv[i]);
    }
  return TRUE;
}

static gboolean
parse_seconds (const char *text, guint32 *out, int *status)
{
  guint64 n;

  if (text == NULL)
    return TRUE;
  if (!g_ascii_string_to_unsigned (text, 10, 0, 86400, &n, NULL))
    {
      *status = pvm_client_usage ("invalid timeout \"%s\": use whole seconds from 0 to 86400", text);
      return FALSE;
    }
  *out = (guint32) n;
  return TRUE;
}

/* ---- create ---- */

/* Key lines from FILE: every line that is not empty or a comment. */
static gboolean
read_key_file (const char *path, GPtrArray *keys, GError **error)
{
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;

  if (!g_file_get_contents (path, &contents, NULL, error))
    return FALSE;
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *line = g_strstrip (lines[i]);
      if (*line != '\0' && *line != '#')
        g_ptr_array_add (keys, g_strdup (line));
    }
  return TRUE;
}

static gboolean
default_keys (GPtrArray *keys)
{
  g_autofree char *dir = g_build_filename (g_get_home_dir (), ".ssh", NULL);
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *entry;

  while (d != NULL && (entry = g_dir_read_name (d)) != NULL)
    if (g_str_has_suffix (entry, ".pub"))
      {
        g_autofree char *path = g_build_filename (dir, entry, NULL);
        read_key_file (path, keys, NULL);
      }
  return keys->len > 0;
}

int
pvm_cmd_create (const PvmClient *client, int argc, char **argv)
{
  const char *image = NULL;
  const char *root_text = NULL;
  guint64 root = 0;
  gboolean start = FALSE;
  g_autoptr(GPtrArray) key_files = g_ptr_array_new ();
  g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) pos = g_ptr_array_new ();
  Opt opts[] = {
    { "--image", TRUE, &image, NULL, NULL },
    { "--root", TRUE, &root_text, NULL, NULL },
    { "--ssh-key", TRUE, NULL, key_files, NULL },
    { "--start", FALSE, NULL, NULL, &start },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(PvmDBusManager) manager = NULL;
  g_autoptr(GVariant) reply = NULL;
  GVariantBuilder b;
  guint64 memory = 0, disk = 0, cpus = 0;
  const char *name;
  int status;

  if (!parse_args (argc, argv, opts, pos, NULL, &status))
    return status;
  if (pos->len < 1 || pos->len > 4)
    return pvm_client_usage ("create takes NAME [MEMORY] [CPUS] [DISK]");
  name = pos->pdata[0];
  if ((pos->len > 1 && !pvm_parse_size_mib (pos->pdata[1], &memory, &error)) ||
      (pos->len > 3 && !pvm_parse_size_gib (pos->pdata[3], &disk, &error)) ||
      (root_text != NULL && !pvm_parse_size_gib (root_text, &root, &error)))
    return pvm_client_usage ("%s", error->message);
  if (pos->len > 2 && !g_ascii_string_to_unsigned (pos->pdata[2], 10, 1, PVM_CPUS_MAX,
                                                   &cpus, NULL))
    return pvm_client_usage ("invalid CPU count \"%s\": use a whole number from 1 to %d",
                             (char *) pos->pdata[2], PVM_CPUS_MAX);

  for (guint i = 0; i < key_files->len; i++)
    if (!read_key_file (key_files->pdata[i], keys, &error))
      return pvm_client_fail ("reading the ssh key: %s", error->message);
  if (key_files->len == 0 && !default_keys (keys))
    g_printerr ("project-vm: warning: no ~/.ssh/*.pub found: the VM gets no ssh key (use --ssh-key FILE)\n");

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  if (pos->len > 1)
    g_variant_builder_add (&b, "{sv}", "memory-mib", g_variant_new_uint64 (memory));
  if (pos->len > 2)
    g_variant_builder_add (&b, "{sv}", "cpus", g_variant_new_uint32 ((guint32) cpus));
  if (pos->len > 3)
    g_variant_builder_add (&b, "{sv}", "disk-gib", g_variant_new_uint64 (disk));
  if (image)
    g_variant_builder_add (&b, "{sv}", "image", g_variant_new_string (image));
  if (root_text)
    g_variant_builder_add (&b, "{sv}", "root-gib", g_variant_new_uint64 (root));
  if (keys->len > 0)
    g_variant_builder_add (&b, "{sv}", "ssh-keys",
                           g_variant_new_strv ((const char * const *) keys->pdata, keys->len));
  if (start)
    g_variant_builder_add (&b, "{sv}", "start", g_variant_new_boolean (TRUE));

  manager = pvm_client_get_manager (&error);
  if (manager == NULL)
    return pvm_client_print_error (error), EXIT_FAILED;
  reply = pvm_client_call (client, manager, "Create",
                           g_variant_new ("(s@a{sv})", name, g_variant_builder_end (&b)),
                           LONG_CALL_MS, NULL, &error);
  if (reply == NULL)
    return pvm_client_print_error (error), EXIT_FAILED;
  {
    g_autoptr(PvmDBusVM) vm = pvm_client_get_vm (client, name, &error);
    g_autofree char *mem = NULL;

    if (vm == NULL)
      return pvm_client_print_error (error), EXIT_FAILED;
    mem = pvm_format_mib (pvm_dbus_vm_get_memory_mi_b (vm));
    g_print ("created %s: %s memory, %u CPUs, %" G_GUINT64_FORMAT "G project disk, image %s%s\n",
             name, mem, pvm_dbus_vm_get_cpus (vm), pvm_dbus_vm_get_disk_gi_b (vm),
             pvm_dbus_vm_get_image (vm), start ? ", started" : "");
  }
  return EXIT_OK;
}

/* ---- destroy ---- */

static gboolean
confirm (const char *question)
{
  char answer[16] = "";

  g_print ("%s [y/N] ", question);
  fflush (stdout);
  if (fgets (answer, sizeof answer, stdin) == NULL)
    return FALSE;
  return answer[0] == 'y' || answer[0] == 'Y';
}

int
pvm_cmd_destroy (const PvmClient *client, int argc, char **argv)
{
  gboolean keep = FALSE, yes = FALSE;
  g_autoptr(GPtrArray) pos = g_ptr_array_new ();
  Opt opts[] = {
    { "--keep-data", FALSE, NULL, NULL, &keep },
    { "--yes", FALSE, NULL, NULL, &yes },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(PvmDBusVM) vm = NULL;
  g_autoptr(GVariant) reply = NULL;
  GVariantBuilder b;
  int status;
  const char *name;

  if (!parse_args (argc, argv, opts, pos, NULL, &status))
    return status;
  if (pos->len != 1)
    return pvm_client_usage ("destroy takes one VM name");
  name = pos->pdata[0];
  vm = pvm_client_get_vm (client, name, &error);
  if (vm == NULL)
    return pvm_client_print_error (error), EXIT_FAILED;
  if (!yes && isatty (STDIN_FILENO))
    {
      g_autofree char *q = keep
          ? g_strdup_printf ("Destroy %s (the project disk is kept)?", name)
          : g_strdup_printf ("Destroy %s and delete its project disk with all data on it?", name);
      if (!confirm (q))
        return pvm_client_fail ("not destroyed");
    }
  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  if (keep)
    g_variant_builder_add (&b, "{sv}", "keep-data", g_variant_new_boolean (TRUE));
  reply = pvm_client_call (client, vm, "Destroy",
                           g_variant_new ("(@a{sv})", g_variant_builder_end (&b)),
                           LONG_CALL_MS, NULL, &error);
  if (reply == NULL)
    return pvm_client_print_error (error), EXIT_FAILED;
  g_print ("destroyed %s%s\n", name, keep ? " (project disk kept; create it again to reattach)" : "");
  return EXIT_OK;
}

/* ---- start ---- */

typedef struct {
  GMainLoop *loop;
  GError *error;
  PvmDBusVM *vm;
  gint64 started;
  gboolean progress;     /* on a terminal */
} StartWait;

static void
on_start_done (GObject *source, GAsyncResult *res, gpointer data)
{
  StartWait *w = data;

  GVariant *reply = g_dbus_proxy_call_finish (G_DBUS_PROXY (source), res, &w->error);

  if (reply != NULL)
    g_variant_unref (reply);
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

int
pvm_cmd_start (const PvmClient *client, int argc, char **argv)
{
  gboolean wait = FALSE;
  const char *timeout_text = NULL;
  guint32 timeout = 600;
  g_autoptr(GPtrArray) pos = g_ptr_array_new ();
  Opt opts[] = {
    { "--wait", FALSE, NULL, NULL, &wait },
    { "--timeout", TRUE, &timeout_text, NULL, NULL },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(PvmDBusVM) vm = NULL;
  StartWait w = { 0 };
  GVariantBuilder b;
  guint progress_id = 0;
  int status;

  if (!parse_args (argc, argv, opts, pos, NULL, &status) ||
      !parse_seconds (timeout_text, &timeout, &status))
    return status;
  if (pos->len != 1)
    return pvm_client_usage ("start takes one VM name");
  if (timeout == 0)
    return pvm_client_usage ("--timeout must be at least 1 second");
  vm = pvm_client_get_vm (client, pos->pdata[0], &error);
  if (vm == NULL)
    return pvm_client_print_error (error), EXIT_FAILED;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  if (wait)
    g_variant_builder_add (&b, "{sv}", "wait", g_variant_new_boolean (TRUE));
  if (timeout_text)
    g_variant_builder_add (&b, "{sv}", "timeout-sec", g_variant_new_uint32 (timeout));

  w.loop = g_main_loop_new (NULL, FALSE);
  w.vm = vm;
  w.started = g_get_monotonic_time ();
  w.progress = wait && isatty (STDOUT_FILENO);
  /* The call lasts as long as the wait; D-Bus's default 25 s would cut it. */
  pvm_client_call_async (client, vm, "Start",
                         g_variant_new ("(@a{sv})", g_variant_builder_end (&b)),
                         wait ? (int) MIN ((timeout + 60) * 1000ULL, G_MAXINT) : LONG_CALL_MS,
                         on_start_done, &w);
  if (w.progress)
    progress_id = g_timeout_add (500, on_progress, &w);
  g_main_loop_run (w.loop);
  g_clear_handle_id (&progress_id, g_source_remove);
  g_main_loop_unref (w.loop);
  if (w.progress)
    g_print ("\r\033[K");
  if (w.error != NULL)
    {
      pvm_client_print_error (w.error);
      g_error_free (w.error);
      return EXIT_FAILED;
    }
  if (wait)
    g_print ("%s is running; cloud-init finished (%" G_GINT64_FORMAT " s)\n",
             (char *) pos->pdata[0], (g_get_monotonic_time () - w.started) / G_USEC_PER_SEC);
  else
    g_print ("%s is running\n", (char *) pos->pdata[0]);
  return EXIT_OK;
}

/* ---- stop ---- */

int
pvm_cmd_stop (const PvmClient *client, int argc, char **argv)
{
  gboolean force = FALSE;
  const char *timeout_text = NULL;
  guint32 timeout = 60;
  g_autoptr(GPtrArray) pos = g_ptr_array_new ();
  Opt opts[] = {
    { "--force", FALSE, NULL, NULL, &force },
    { "--timeout", TRUE, &timeout_text, NULL, NULL },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(PvmDBusVM) vm = NULL;
  g_autofree char *outcome = NULL;
  g_autoptr(GVariant) reply = NULL;
  GVariantBuilder b;
  int status;

  if (!parse_args (argc, argv, opts, pos, NULL, &status) ||
      !parse_seconds (timeout_text, &timeout, &status))
    return status;
  if (pos->len != 1)
    return pvm_client_usage ("stop takes one VM name");
  vm = pvm_client_get_vm (client, pos->pdata[0], &error);
  if (vm == NULL)
    return pvm_client_print_error (error), EXIT_FAILED;
  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  if (force)
    g_variant_builder_add (&b, "{sv}", "force", g_variant_new_boolean (TRUE));
  if (timeout_text)
    g_variant_builder_add (&b, "{sv}", "timeout-sec", g_variant_new_uint32 (timeout));
  reply = pvm_client_call (client, vm, "Stop",
                           g_variant_new ("(@a{sv})", g_variant_builder_end (&b)),
                           (int) MIN ((timeout + 60) * 1000ULL, G_MAXINT), NULL, &error);
  if (reply == NULL)
    return pvm_client_print_error (error), EXIT_FAILED;
  g_variant_get (reply, "(s)", &outcome);
  g_print ("%s stopped: %s\n", (char *) pos->pdata[0], outcome);
  return EXIT_OK;
}

/* ---- ssh ---- */

int
pvm_cmd_ssh (const PvmClient *client, int argc, char **argv)
{
  g_autoptr(GPtrArray) pos = g_ptr_array_new ();
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  Opt opts[] = { { NULL } };
  char **rest = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PvmDBusVM) vm = NULL;
  const char *target;
  int status;

  if (!parse_args (argc, argv, opts, pos, &rest, &status))
    return status;
  if (pos->len != 1)
    return pvm_client_usage ("ssh takes one VM name, then -- and ssh's arguments");
  vm = pvm_client_get_vm (client, pos->pdata[0], &error);
  if (vm == NULL)
    return pvm_client_print_error (error), EXIT_FAILED;
  target = pvm_dbus_vm_get_ssh_target (vm);
  if (target == NULL || *target == '\0')
    return pvm_client_fail ("no address is known for %s yet (state %s); start it with: project-vm start %s --wait",
                            (char *) pos->pdata[0], pvm_dbus_vm_get_state (vm),
                            (char *) pos->pdata[0]);
  g_ptr_array_add (args, "ssh");
  g_ptr_array_add (args, (gpointer) target);
  for (; rest != NULL && *rest != NULL; rest++)
    g_ptr_array_add (args, *rest);
  g_ptr_array_add (args, NULL);
  execvp ("ssh", (char **) args->pdata);
  return pvm_client_fail ("running ssh: %s", g_strerror (errno));
}
