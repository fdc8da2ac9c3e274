/* create: a new VM from sizes, an image and the caller's ssh keys. */
#include "client.h"

#include "validate.h"

/* A call that may wait for a person at a polkit prompt. */
#define CREATE_CALL_MS (10 * 60 * 1000)

static char *opt_image;
static char *opt_root;
static char **opt_ssh_keys;
static gboolean opt_start;

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

/* The a{sv} of Create from the arguments; FALSE with *STATUS on bad usage
 * (exit 2: nothing was sent) or an unreadable key file. */
static gboolean
build_options (const PvmClient *client, const PvmArgs *args, GVariantBuilder *b,
               int *status)
{
  g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  guint64 memory = 0, disk = 0, root = 0, cpus = 0;

  if ((args->n_args > 1 && !pvm_parse_size_mib (args->args[1], &memory, &error)) ||
      (args->n_args > 3 &&
       !pvm_parse_disk_size (args->args[3], "disk", "the project disk", &disk, &error)) ||
      (opt_root != NULL &&
       !pvm_parse_disk_size (opt_root, "root", "the system disk", &root, &error)))
    return (*status = pvm_client_usage (client, "%s", error->message)), FALSE;
  if (args->n_args > 2 && !g_ascii_string_to_unsigned (args->args[2], 10, 1, PVM_CPUS_MAX,
                                                     &cpus, NULL))
    return (*status = pvm_client_usage (client,
                                        "invalid CPU count \"%s\": use a whole number from 1 to %d",
                                        args->args[2], PVM_CPUS_MAX)), FALSE;
  for (guint i = 0; opt_ssh_keys != NULL && opt_ssh_keys[i] != NULL; i++)
    if (!read_key_file (opt_ssh_keys[i], keys, &error))
      return (*status = pvm_client_fail ("reading the ssh key: %s", error->message)), FALSE;
  if (opt_ssh_keys == NULL && !default_keys (keys))
    g_printerr ("project-vm: warning: no ~/.ssh/*.pub found: the VM gets no ssh key (use --ssh-key FILE)\n");

  g_variant_builder_init (b, G_VARIANT_TYPE_VARDICT);
  if (args->n_args > 1)
    g_variant_builder_add (b, "{sv}", "memory-mib", g_variant_new_uint64 (memory));
  if (args->n_args > 2)
    g_variant_builder_add (b, "{sv}", "cpus", g_variant_new_uint32 ((guint32) cpus));
  if (args->n_args > 3)
    g_variant_builder_add (b, "{sv}", "disk-gib", g_variant_new_uint64 (disk));
  if (opt_image)
    g_variant_builder_add (b, "{sv}", "image", g_variant_new_string (opt_image));
  if (opt_root)
    g_variant_builder_add (b, "{sv}", "root-gib", g_variant_new_uint64 (root));
  if (keys->len > 0)
    g_variant_builder_add (b, "{sv}", "ssh-keys",
                           g_variant_new_strv ((const char * const *) keys->pdata, keys->len));
  if (opt_start)
    g_variant_builder_add (b, "{sv}", "start", g_variant_new_boolean (TRUE));
  return TRUE;
}

static int
print_created (const PvmClient *client, const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PvmDBusVM) vm = pvm_client_get_vm (client, name, &error);
  g_autofree char *mem = NULL;
  g_autofree char *cpus = NULL;

  if (vm == NULL)
    return pvm_client_print_error (error), EXIT_FAILED;
  mem = pvm_format_mib (pvm_dbus_vm_get_memory_mib (vm));
  cpus = pvm_format_cpus (pvm_dbus_vm_get_cpus (vm));
  g_print ("created %s: %s memory, %s, %" G_GUINT64_FORMAT "G project disk, image %s%s\n",
           name, mem, cpus, pvm_dbus_vm_get_disk_gib (vm), pvm_dbus_vm_get_image (vm),
           opt_start ? ", started" : "");
  return EXIT_OK;
}

static int
run_create (const PvmClient *client, const PvmArgs *args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PvmDBusManager) manager = NULL;
  g_autoptr(GVariant) reply = NULL;
  GVariantBuilder b;
  int status;

  if (!build_options (client, args, &b, &status))
    return status;
  manager = pvm_client_get_manager (&error);
  if (manager == NULL)
    {
      g_variant_builder_clear (&b);
      return pvm_client_print_error (error), EXIT_FAILED;
    }
  reply = pvm_client_call (client, manager, "Create",
                           g_variant_new ("(s@a{sv})", args->args[0], g_variant_builder_end (&b)),
                           CREATE_CALL_MS, NULL, &error);
  if (reply == NULL)
    return pvm_client_print_error (error), EXIT_FAILED;
  return print_created (client, args->args[0]);
}

static const GOptionEntry create_entries[] = {
  { "image", 0, 0, G_OPTION_ARG_STRING, &opt_image,
    "A base image the service offers (default: its default)", "IMAGE" },
  { "root", 0, 0, G_OPTION_ARG_STRING, &opt_root,
    "Grow the system disk to SIZE (default: the service's)", "SIZE" },
  { "ssh-key", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &opt_ssh_keys,
    "A public key; repeatable (default: ~/.ssh/*.pub)", "FILE" },
  { "start", 0, 0, G_OPTION_ARG_NONE, &opt_start, "Start the VM once it is made", NULL },
  G_OPTION_ENTRY_NULL
};

const PvmCommand pvm_command_create = {
  "create", "NAME [MEMORY] [CPUS] [DISK]", "Make a VM (defined, not started)",
  "Make a project VM: an overlay over a base image, a separate project disk\n"
  "mounted at ~/project, and a cloud-init seed with your ssh keys. MEMORY and\n"
  "DISK are sizes: a plain number is MiB, or use a K, M, G or T suffix\n"
  "(create web 4G 2 50G); the project disk is at least 1 GiB. Left out, the\n"
  "service's defaults apply. A project disk kept by destroy --keep-data is\n"
  "attached again. The VM is not started unless --start is given.",
  create_entries, 1, 4, FALSE, run_create,
};
