/* list and status: reading the service's objects. */
#include "client.h"

#include <string.h>

#define NAME_MIN_WIDTH 4      /* "NAME" */
#define STATE_WIDTH 14        /* "shutting-down" and a space */

static gboolean opt_json;
static gboolean opt_names;

static char *
join_addresses (PvmDBusVM *vm, const char *sep, const char *empty)
{
  const char * const *a = pvm_dbus_vm_get_addresses (vm);
  return (a != NULL && a[0] != NULL) ? g_strjoinv (sep, (char **) a) : g_strdup (empty);
}

static void
print_json_list (GPtrArray *vms)
{
  g_autoptr(JsonNode) root = json_node_new (JSON_NODE_ARRAY);
  JsonArray *array = json_array_sized_new (vms->len);

  for (guint i = 0; i < vms->len; i++)
    json_array_add_element (array, pvm_vm_to_json (g_ptr_array_index (vms, i)));
  json_node_take_array (root, array);
  pvm_print_json (root);
}

/* The NAME column is as wide as the longest name, so that a 55-character
 * name does not push its row out of line. */
static int
name_width (GPtrArray *vms)
{
  int width = NAME_MIN_WIDTH;

  for (guint i = 0; i < vms->len; i++)
    width = MAX (width, (int) strlen (pvm_dbus_vm_get_name (g_ptr_array_index (vms, i))));
  return width;
}

static void
print_table (GPtrArray *vms)
{
  int width = name_width (vms);
  gboolean colour = pvm_use_colour ();

  g_print ("%-*s %-*s %4s %7s %6s %-18s %s\n", width, "NAME", STATE_WIDTH, "STATE",
           "CPUS", "MEMORY", "DISK", "ADDRESSES", "OWNER");
  for (guint i = 0; i < vms->len; i++)
    {
      PvmDBusVM *vm = g_ptr_array_index (vms, i);
      g_autofree char *state = pvm_format_state (pvm_dbus_vm_get_state (vm), colour,
                                                 STATE_WIDTH);
      g_autofree char *mem = pvm_format_mib (pvm_dbus_vm_get_memory_mib (vm));
      g_autofree char *disk = g_strdup_printf ("%" G_GUINT64_FORMAT "G",
                                               pvm_dbus_vm_get_disk_gib (vm));
      g_autofree char *addrs = join_addresses (vm, ",", "-");
      g_autofree char *owner = pvm_owner_name (pvm_dbus_vm_get_owner (vm));

      g_print ("%-*s %s %4u %7s %6s %-18s %s\n", width, pvm_dbus_vm_get_name (vm), state,
               pvm_dbus_vm_get_cpus (vm), mem, disk, addrs, owner);
    }
}

static int
run_list (const PvmClient *client, const PvmArgs *args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusObjectManager) om = NULL;
  g_autoptr(GPtrArray) vms = NULL;

  if (opt_json && opt_names)
    return pvm_client_usage (client, "--json and --names do not go together");
  om = pvm_client_object_manager (&error);
  if (om == NULL)
    return pvm_client_print_error (error), EXIT_FAILED;
  vms = pvm_client_list_vms (om);
  if (opt_json)
    print_json_list (vms);
  else if (opt_names)
    for (guint i = 0; i < vms->len; i++)
      g_print ("%s\n", pvm_dbus_vm_get_name (g_ptr_array_index (vms, i)));
  else
    print_table (vms);
  return EXIT_OK;
}

static const GOptionEntry list_entries[] = {
  { "json", 0, 0, G_OPTION_ARG_NONE, &opt_json, "Print a JSON array of VM objects", NULL },
  { "names", 0, 0, G_OPTION_ARG_NONE, &opt_names,
    "Print only the names, one a line", NULL },
  G_OPTION_ENTRY_NULL
};

const PvmCommand pvm_command_list = {
  "list", "", "List the project VMs on this host",
  "List every project VM on this host, whoever owns it: name, state, vCPUs,\n"
  "memory, project disk size, addresses and owner. States are coloured on a\n"
  "terminal unless NO_COLOR is set. Reading is open to every local user.",
  list_entries, 0, 0, FALSE, run_list,
};

static void
print_status (PvmDBusVM *vm)
{
  g_autofree char *state = pvm_format_state (pvm_dbus_vm_get_state (vm), pvm_use_colour (), 0);
  g_autofree char *mem = pvm_format_mib (pvm_dbus_vm_get_memory_mib (vm));
  g_autofree char *addrs = join_addresses (vm, ", ", "(none yet)");
  g_autofree char *owner = pvm_owner_name (pvm_dbus_vm_get_owner (vm));
  g_autoptr(GDateTime) created =
      g_date_time_new_from_unix_local ((gint64) pvm_dbus_vm_get_created_at (vm));
  g_autofree char *created_str =
      created ? g_date_time_format (created, "%Y-%m-%d %H:%M:%S") : g_strdup ("?");
  const char *ssh = pvm_dbus_vm_get_ssh_target (vm);

  g_print ("Name:        %s\n", pvm_dbus_vm_get_name (vm));
  g_print ("State:       %s\n", state);
  g_print ("Cloud-init:  %s\n", pvm_dbus_vm_get_cloud_init (vm));
  g_print ("CPUs:        %u\n", pvm_dbus_vm_get_cpus (vm));
  g_print ("Memory:      %s\n", mem);
  g_print ("Project disk: %" G_GUINT64_FORMAT "G\n", pvm_dbus_vm_get_disk_gib (vm));
  g_print ("Image:       %s\n", pvm_dbus_vm_get_image (vm));
  g_print ("Addresses:   %s\n", addrs);
  g_print ("SSH:         %s\n", *ssh ? ssh : "(no address yet)");
  g_print ("Owner:       %s (uid %u)\n", owner, pvm_dbus_vm_get_owner (vm));
  g_print ("Created:     %s\n", created_str);
}

static int
run_status (const PvmClient *client, const PvmArgs *args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PvmDBusVM) vm = pvm_client_get_vm (client, args->args[0], &error);

  if (vm == NULL)
    return pvm_client_print_error (error), EXIT_FAILED;
  if (opt_json)
    {
      g_autoptr(JsonNode) root = pvm_vm_to_json (vm);
      pvm_print_json (root);
    }
  else
    print_status (vm);
  return EXIT_OK;
}

static const GOptionEntry status_entries[] = {
  { "json", 0, 0, G_OPTION_ARG_NONE, &opt_json, "Print one JSON object", NULL },
  G_OPTION_ENTRY_NULL
};

const PvmCommand pvm_command_status = {
  "status", "NAME", "Show one VM in detail",
  "Show everything the service knows about one VM: state, cloud-init's\n"
  "progress on this boot, vCPUs, memory, project disk, image, addresses, the\n"
  "ssh target, owner and when it was made.",
  status_entries, 1, 1, FALSE, run_status,
};
