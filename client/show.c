/* list, status and monitor: reading the service's objects and signals. */
#include "client.h"

#include <stdio.h>
#include <time.h>

static int
compare_vms (gconstpointer a, gconstpointer b)
{
  PvmDBusVM *va = *(PvmDBusVM **) a;
  PvmDBusVM *vb = *(PvmDBusVM **) b;
  return g_strcmp0 (pvm_dbus_vm_get_name (va), pvm_dbus_vm_get_name (vb));
}

/* All VM interfaces under the object manager, sorted by name: one
 * GetManagedObjects round trip, no libvirt call in the service. */
static GPtrArray *
collect_vms (GDBusObjectManager *om)
{
  GPtrArray *vms = g_ptr_array_new_with_free_func (g_object_unref);
  GList *objects = g_dbus_object_manager_get_objects (om);

  for (GList *l = objects; l != NULL; l = l->next)
    {
      PvmDBusVM *vm = pvm_dbus_object_get_vm (PVM_DBUS_OBJECT (l->data));
      if (vm != NULL)
        g_ptr_array_add (vms, vm);
    }
  g_list_free_full (objects, g_object_unref);
  g_ptr_array_sort (vms, compare_vms);
  return vms;
}

static char *
join_addresses (PvmDBusVM *vm, const char *sep, const char *empty)
{
  const char * const *a = pvm_dbus_vm_get_addresses (vm);
  return (a != NULL && a[0] != NULL) ? g_strjoinv (sep, (char **) a) : g_strdup (empty);
}

static void
json_vm (GString *out, PvmDBusVM *vm)
{
  const char * const *a = pvm_dbus_vm_get_addresses (vm);
  g_autofree char *owner = pvm_owner_name (pvm_dbus_vm_get_owner (vm));

  g_string_append (out, "{\"name\":");
  pvm_json_string (out, pvm_dbus_vm_get_name (vm));
  g_string_append (out, ",\"state\":");
  pvm_json_string (out, pvm_dbus_vm_get_state (vm));
  g_string_append_printf (out, ",\"cpus\":%u,\"memory_mib\":%" G_GUINT64_FORMAT
                          ",\"disk_gib\":%" G_GUINT64_FORMAT,
                          pvm_dbus_vm_get_cpus (vm), pvm_dbus_vm_get_memory_mi_b (vm),
                          pvm_dbus_vm_get_disk_gi_b (vm));
  g_string_append (out, ",\"image\":");
  pvm_json_string (out, pvm_dbus_vm_get_image (vm));
  g_string_append (out, ",\"addresses\":[");
  for (guint i = 0; a != NULL && a[i] != NULL; i++)
    {
      if (i > 0)
        g_string_append_c (out, ',');
      pvm_json_string (out, a[i]);
    }
  g_string_append_printf (out, "],\"owner\":%u,\"owner_name\":", pvm_dbus_vm_get_owner (vm));
  pvm_json_string (out, owner);
  g_string_append (out, ",\"ssh_target\":");
  pvm_json_string (out, pvm_dbus_vm_get_ssh_target (vm));
  g_string_append (out, ",\"cloud_init\":");
  pvm_json_string (out, pvm_dbus_vm_get_cloud_init (vm));
  g_string_append_printf (out, ",\"created_at\":%" G_GUINT64_FORMAT "}",
                          pvm_dbus_vm_get_created_at (vm));
}

static gboolean
parse_json_flag (int argc, char **argv, int max_positional, GPtrArray *positional,
                 gboolean *json, int *status)
{
  for (int i = 1; i < argc; i++)
    {
      if (g_str_equal (argv[i], "--json"))
        *json = TRUE;
      else if (argv[i][0] == '-')
        return (*status = pvm_client_usage ("%s: unknown option %s", argv[0], argv[i])), FALSE;
      else
        g_ptr_array_add (positional, argv[i]);
    }
  if ((int) positional->len != max_positional)
    {
      *status = pvm_client_usage ("%s takes %s", argv[0],
                                  max_positional ? "one VM name" : "no arguments");
      return FALSE;
    }
  return TRUE;
}

int
pvm_cmd_list (const PvmClient *client, int argc, char **argv)
{
  g_autoptr(GPtrArray) positional = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusObjectManager) om = NULL;
  g_autoptr(GPtrArray) vms = NULL;
  gboolean json = FALSE;
  int status;

  if (!parse_json_flag (argc, argv, 0, positional, &json, &status))
    return status;
  om = pvm_client_object_manager (&error);
  if (om == NULL)
    return pvm_client_print_error (error), EXIT_FAILED;
  vms = collect_vms (om);

  if (json)
    {
      g_autoptr(GString) out = g_string_new ("[");
      for (guint i = 0; i < vms->len; i++)
        {
          if (i > 0)
            g_string_append_c (out, ',');
          json_vm (out, g_ptr_array_index (vms, i));
        }
      g_print ("%s]\n", out->str);
      return EXIT_OK;
    }
  g_print ("%-20s %-14s %4s %7s %6s %-18s %s\n",
           "NAME", "STATE", "CPUS", "MEMORY", "DISK", "ADDRESSES", "OWNER");
  for (guint i = 0; i < vms->len; i++)
    {
      PvmDBusVM *vm = g_ptr_array_index (vms, i);
      g_autofree char *mem = pvm_format_mib (pvm_dbus_vm_get_memory_mi_b (vm));
      g_autofree char *disk = g_strdup_printf ("%" G_GUINT64_FORMAT "G",
                                               pvm_dbus_vm_get_disk_gi_b (vm));
      g_autofree char *addrs = join_addresses (vm, ",", "-");
      g_autofree char *owner = pvm_owner_name (pvm_dbus_vm_get_owner (vm));

      g_print ("%-20s %-14s %4u %7s %6s %-18s %s\n", pvm_dbus_vm_get_name (vm),
               pvm_dbus_vm_get_state (vm), pvm_dbus_vm_get_cpus (vm), mem, disk,
               addrs, owner);
    }
  return EXIT_OK;
}

int
pvm_cmd_status (const PvmClient *client, int argc, char **argv)
{
  g_autoptr(GPtrArray) positional = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(PvmDBusVM) vm = NULL;
  gboolean json = FALSE;
  int status;

  if (!parse_json_flag (argc, argv, 1, positional, &json, &status))
    return status;
  vm = pvm_client_get_vm (client, g_ptr_array_index (positional, 0), &error);
  if (vm == NULL)
    return pvm_client_print_error (error), EXIT_FAILED;

  if (json)
    {
      g_autoptr(GString) out = g_string_new (NULL);
      json_vm (out, vm);
      g_print ("%s\n", out->str);
    }
  else
    {
      g_autofree char *mem = pvm_format_mib (pvm_dbus_vm_get_memory_mi_b (vm));
      g_autofree char *addrs = join_addresses (vm, ", ", "(none yet)");
      g_autofree char *owner = pvm_owner_name (pvm_dbus_vm_get_owner (vm));
      g_autoptr(GDateTime) created =
          g_date_time_new_from_unix_local ((gint64) pvm_dbus_vm_get_created_at (vm));
      g_autofree char *created_str =
          created ? g_date_time_format (created, "%Y-%m-%d %H:%M:%S") : g_strdup ("?");
      const char *ssh = pvm_dbus_vm_get_ssh_target (vm);

      g_print ("Name:        %s\n", pvm_dbus_vm_get_name (vm));
      g_print ("State:       %s\n", pvm_dbus_vm_get_state (vm));
      g_print ("Cloud-init:  %s\n", pvm_dbus_vm_get_cloud_init (vm));
      g_print ("CPUs:        %u\n", pvm_dbus_vm_get_cpus (vm));
      g_print ("Memory:      %s\n", mem);
      g_print ("Project disk: %" G_GUINT64_FORMAT "G\n", pvm_dbus_vm_get_disk_gi_b (vm));
      g_print ("Image:       %s\n", pvm_dbus_vm_get_image (vm));
      g_print ("Addresses:   %s\n", addrs);
      g_print ("SSH:         %s\n", *ssh ? ssh : "(no address yet)");
      g_print ("Owner:       %s (uid %u)\n", owner, pvm_dbus_vm_get_owner (vm));
      g_print ("Created:     %s\n", created_str);
    }
  return EXIT_OK;
}

/* ---- monitor ---- */

typedef struct {
  gboolean json;
  GMainLoop *loop;
} Monitor;

static void
print_event (Monitor *m, const char *vm, const char *event, const char *state,
             const char *previous, const char *reason)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format (now, "%H:%M:%S");

  if (m->json)
    {
      g_autoptr(GString) out = g_string_new ("{\"time\":");
      g_autofree char *iso = g_date_time_format_iso8601 (now);

      pvm_json_string (out, iso);
      g_string_append (out, ",\"vm\":");
      pvm_json_string (out, vm);
      g_string_append (out, ",\"event\":");
      pvm_json_string (out, event);
      if (state != NULL)
        {
          g_string_append (out, ",\"state\":");
          pvm_json_string (out, state);
          g_string_append (out, ",\"previous\":");
          pvm_json_string (out, previous);
          g_string_append (out, ",\"reason\":");
          pvm_json_string (out, reason);
        }
      g_print ("%s}\n", out->str);
    }
  else if (state != NULL)
    g_print ("%s %s: %s -> %s (%s)\n", stamp, vm, previous, state, reason);
  else
    g_print ("%s %s: %s\n", stamp, vm, event);
  fflush (stdout);
}

static void
on_state_changed (PvmDBusVM *vm, const char *state, const char *previous,
                  const char *reason, Monitor *m)
{
  print_event (m, pvm_dbus_vm_get_name (vm), "state-changed", state, previous, reason);
}

static void
watch_object (Monitor *m, GDBusObject *object, gboolean announce)
{
  g_autoptr(PvmDBusVM) vm = pvm_dbus_object_get_vm (PVM_DBUS_OBJECT (object));

  if (vm == NULL)
    return;
  g_signal_connect (vm, "state-changed", G_CALLBACK (on_state_changed), m);
  if (announce)
    print_event (m, pvm_dbus_vm_get_name (vm), "added", NULL, NULL, NULL);
}

static void
on_object_added (GDBusObjectManager *om, GDBusObject *object, Monitor *m)
{
  watch_object (m, object, TRUE);
}

static void
on_object_removed (GDBusObjectManager *om, GDBusObject *object, Monitor *m)
{
  g_autoptr(PvmDBusVM) vm = pvm_dbus_object_get_vm (PVM_DBUS_OBJECT (object));

  if (vm != NULL)
    print_event (m, pvm_dbus_vm_get_name (vm), "removed", NULL, NULL, NULL);
}

static void
on_owner_changed (GObject *om, GParamSpec *pspec, Monitor *m)
{
  g_autofree char *owner =
      g_dbus_object_manager_client_get_name_owner (G_DBUS_OBJECT_MANAGER_CLIENT (om));

  if (owner == NULL)
    g_printerr ("project-vm: the service went away; waiting for it to come back\n");
}

int
pvm_cmd_monitor (const PvmClient *client, int argc, char **argv)
{
  g_autoptr(GPtrArray) positional = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusObjectManager) om = NULL;
  Monitor m = { 0 };
  GList *objects;
  int status;

  if (!parse_json_flag (argc, argv, 0, positional, &m.json, &status))
    return status;
  om = pvm_client_object_manager (&error);
  if (om == NULL)
    return pvm_client_print_error (error), EXIT_FAILED;

  objects = g_dbus_object_manager_get_objects (om);
  for (GList *l = objects; l != NULL; l = l->next)
    watch_object (&m, l->data, FALSE);
  g_list_free_full (objects, g_object_unref);
  g_signal_connect (om, "object-added", G_CALLBACK (on_object_added), &m);
  g_signal_connect (om, "object-removed", G_CALLBACK (on_object_removed), &m);
  g_signal_connect (om, "notify::name-owner", G_CALLBACK (on_owner_changed), &m);
  /* On stderr, so that --json output stays one object a line. */
  g_printerr ("watching project VMs; Ctrl-C stops\n");
  m.loop = g_main_loop_new (NULL, FALSE);
  g_main_loop_run (m.loop);
  g_main_loop_unref (m.loop);
  return EXIT_OK;
}
