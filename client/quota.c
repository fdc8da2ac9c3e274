/* quota: a user's limits and what it uses (Manager.GetQuota). */
#include "client.h"

#include <pwd.h>
#include <stdlib.h>
#include <unistd.h>

static gboolean opt_json;

/* The GetQuota keys, in the order shown. */
static const char * const keys[] = {
  "vms", "memory-mib", "cpus", "disk-gib", "creates-in-flight", NULL };

static guint64
number (GVariant *dict, const char *key)
{
  g_autoptr(GVariant) v = g_variant_lookup_value (dict, key, NULL);

  if (v == NULL)
    return 0;
  if (g_variant_is_of_type (v, G_VARIANT_TYPE_UINT64))
    return g_variant_get_uint64 (v);
  if (g_variant_is_of_type (v, G_VARIANT_TYPE_UINT32))
    return g_variant_get_uint32 (v);
  return 0;
}

/* USER: a login name or a uid; NULL: the caller. */
static gboolean
resolve_uid (const char *user, guint32 *uid)
{
  struct passwd *pw;
  guint64 n;

  if (user == NULL)
    {
      *uid = getuid ();
      return TRUE;
    }
  if (g_ascii_string_to_unsigned (user, 10, 0, G_MAXUINT32, &n, NULL))
    {
      *uid = (guint32) n;
      return TRUE;
    }
  pw = getpwnam (user);
  if (pw == NULL)
    return FALSE;
  *uid = pw->pw_uid;
  return TRUE;
}

static void
print_json (guint32 uid, GVariant *limits, GVariant *used)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *name = pvm_owner_name (uid);

  json_builder_begin_object (b);
  pvm_json_add_int (b, "uid", uid);
  pvm_json_add_string (b, "user", name);
  json_builder_set_member_name (b, "limits");
  json_builder_begin_object (b);
  for (guint i = 0; keys[i] != NULL; i++)
    pvm_json_add_int (b, keys[i], (gint64) number (limits, keys[i]));
  json_builder_end_object (b);
  json_builder_set_member_name (b, "used");
  json_builder_begin_object (b);
  for (guint i = 0; keys[i] != NULL; i++)
    pvm_json_add_int (b, keys[i], (gint64) number (used, keys[i]));
  json_builder_end_object (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  pvm_print_json (root);
}

static void
print_table (GVariant *limits, GVariant *used)
{
  g_print ("%-18s %8s %8s\n", "LIMIT", "USED", "MAX");
  for (guint i = 0; keys[i] != NULL; i++)
    {
      guint64 max = number (limits, keys[i]);
      g_autofree char *shown = max == 0 ? g_strdup ("-")
                                        : g_strdup_printf ("%" G_GUINT64_FORMAT, max);

      g_print ("%-18s %8" G_GUINT64_FORMAT " %8s\n", keys[i], number (used, keys[i]), shown);
    }
}

static int
run_quota (const PvmClient *client, const PvmArgs *args)
{
  const char *user = args->n_args == 1 ? args->args[0] : NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PvmDBusManager) manager = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) limits = NULL;
  g_autoptr(GVariant) used = NULL;
  guint32 uid;

  if (!resolve_uid (user, &uid))
    return pvm_client_usage (client, "there is no user \"%s\"", user);
  manager = pvm_client_get_manager (&error);
  if (manager == NULL)
    return pvm_client_print_error (error), EXIT_FAILED;
  reply = pvm_client_call (client, manager, "GetQuota", g_variant_new ("(u)", uid),
                           -1, NULL, &error);
  if (reply == NULL)
    return pvm_client_print_error (error), EXIT_FAILED;
  g_variant_get (reply, "(@a{sv}@a{sv})", &limits, &used);
  if (opt_json)
    print_json (uid, limits, used);
  else
    print_table (limits, used);
  return EXIT_OK;
}

static const GOptionEntry quota_entries[] = {
  { "json", 0, 0, G_OPTION_ARG_NONE, &opt_json, "Print a JSON object", NULL },
  G_OPTION_ENTRY_NULL
};

const PvmCommand pvm_command_quota = {
  "quota", "[USER]", "Show a user's quota and what it uses",
  "The limits of the [quota] sections of the service's configuration that\n"
  "apply to USER (a login name or uid; default: you), and what USER uses:\n"
  "VMs, memory in MiB, vCPUs, disk in GiB (project disks, system disks and\n"
  "kept disks) and Creates under way. MAX \"-\" is no limit; root has none.\n"
  "Open to every local user.",
  quota_entries, 0, 1, FALSE, run_quota,
};
