/* disk list and disk delete: the project disks kept by destroy --keep-data. */
#include "client.h"

#include <string.h>
#include <unistd.h>

#define LONG_CALL_MS (10 * 60 * 1000)

static gboolean opt_json;
static gboolean opt_yes;

/* KeptDisks, or NULL with an error when the service is not there. */
static GVariant *
kept_disks (PvmDBusManager *manager, GError **error)
{
  g_autofree char *owner = g_dbus_proxy_get_name_owner (G_DBUS_PROXY (manager));
  GVariant *disks = pvm_dbus_manager_get_kept_disks (manager);

  if (owner == NULL || disks == NULL)
    {
      g_set_error_literal (error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER,
                           "the project-vm service is not running; start it: "
                           "systemctl start project-vmd");
      return NULL;
    }
  return disks;
}

static char *
format_time (guint64 unix_sec)
{
  g_autoptr(GDateTime) t = unix_sec ? g_date_time_new_from_unix_local ((gint64) unix_sec) : NULL;

  return t != NULL ? g_date_time_format (t, "%Y-%m-%d %H:%M:%S") : g_strdup ("-");
}

static void
print_json (GVariant *disks)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  GVariantIter iter;
  const char *name;
  guint32 owner;
  guint64 gib, kept_at;

  json_builder_begin_array (b);
  g_variant_iter_init (&iter, disks);
  while (g_variant_iter_next (&iter, "(&sutt)", &name, &owner, &gib, &kept_at))
    {
      g_autofree char *owner_name = pvm_owner_name (owner);

      json_builder_begin_object (b);
      pvm_json_add_string (b, "name", name);
      pvm_json_add_int (b, "owner", owner);
      pvm_json_add_string (b, "owner_name", owner_name);
      pvm_json_add_int (b, "size_gib", (gint64) gib);
      pvm_json_add_int (b, "kept_at", (gint64) kept_at);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  root = json_builder_get_root (b);
  pvm_print_json (root);
}

static void
print_table (GVariant *disks)
{
  GVariantIter iter;
  const char *name;
  guint32 owner;
  guint64 gib, kept_at;
  int width = 4;   /* "NAME" */

  g_variant_iter_init (&iter, disks);
  while (g_variant_iter_next (&iter, "(&sutt)", &name, &owner, &gib, &kept_at))
    width = MAX (width, (int) strlen (name));
  g_print ("%-*s %-16s %6s %s\n", width, "NAME", "OWNER", "SIZE", "KEPT");
  g_variant_iter_init (&iter, disks);
  while (g_variant_iter_next (&iter, "(&sutt)", &name, &owner, &gib, &kept_at))
    {
      g_autofree char *owner_name = pvm_owner_name (owner);
      g_autofree char *size = g_strdup_printf ("%" G_GUINT64_FORMAT "G", gib);
      g_autofree char *when = format_time (kept_at);

      g_print ("%-*s %-16s %6s %s\n", width, name, owner_name, size, when);
    }
}

static int
disk_list (const PvmClient *client, const PvmArgs *args, PvmDBusManager *manager)
{
  g_autoptr(GError) error = NULL;
  GVariant *disks;

  if (args->n_args != 1)
    return pvm_client_usage (client, "disk list takes no more arguments");
  disks = kept_disks (manager, &error);
  if (disks == NULL)
    return pvm_client_print_error (error), EXIT_FAILED;
  if (opt_json)
    print_json (disks);
  else
    print_table (disks);
  return EXIT_OK;
}

static int
disk_delete (const PvmClient *client, const PvmArgs *args, PvmDBusManager *manager)
{
  const char *name = args->n_args == 2 ? args->args[1] : NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;

  if (name == NULL)
    return pvm_client_usage (client, "disk delete takes one name");
  if (!opt_yes && isatty (STDIN_FILENO))
    {
      g_autofree char *q =
          g_strdup_printf ("Delete the kept project disk of %s with all data on it?", name);
      if (!pvm_confirm (q))
        return pvm_client_fail ("not deleted");
    }
  reply = pvm_client_call (client, manager, "DeleteKeptDisk",
                           g_variant_new ("(s@a{sv})", name,
                                          g_variant_new_array (G_VARIANT_TYPE ("{sv}"), NULL, 0)),
                           LONG_CALL_MS, NULL, &error);
  if (reply == NULL)
    return pvm_client_print_error (error), EXIT_FAILED;
  g_print ("deleted the kept project disk of %s\n", name);
  return EXIT_OK;
}

static int
run_disk (const PvmClient *client, const PvmArgs *args)
{
  const char *what = args->args[0];
  g_autoptr(GError) error = NULL;
  g_autoptr(PvmDBusManager) manager = NULL;

  if (!g_str_equal (what, "list") && !g_str_equal (what, "delete"))
    return pvm_client_usage (client, "unknown disk command \"%s\" (list or delete)", what);
  if (opt_json && g_str_equal (what, "delete"))
    return pvm_client_usage (client, "--json goes with disk list");
  manager = pvm_client_get_manager (&error);
  if (manager == NULL)
    return pvm_client_print_error (error), EXIT_FAILED;
  return g_str_equal (what, "list") ? disk_list (client, args, manager)
                                    : disk_delete (client, args, manager);
}

static const GOptionEntry disk_entries[] = {
  { "json", 0, 0, G_OPTION_ARG_NONE, &opt_json, "list: print a JSON array", NULL },
  { "yes", 0, 0, G_OPTION_ARG_NONE, &opt_yes, "delete: do not ask first", NULL },
  G_OPTION_ENTRY_NULL
};

const PvmCommand pvm_command_disk = {
  "disk", "list | delete NAME", "List or delete kept project disks",
  "The project disks kept by destroy --keep-data. \"disk list\" shows each\n"
  "with its owner, size and when it was kept (open to every local user);\n"
  "only the owner's create of that name attaches it again. \"disk delete\n"
  "NAME\" deletes one with all data on it: one's own, or as an admin\n"
  "another user's. On a terminal it asks first (--yes does not).",
  disk_entries, 1, 2, FALSE, run_disk,
};
