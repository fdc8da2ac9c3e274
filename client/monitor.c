/* monitor: the service's signals, one line per VM added, removed or
 * changing state. */
#include "client.h"

#include <stdio.h>

static gboolean opt_json;

typedef struct {
  GMainLoop *loop;
} Monitor;

static void
print_json_event (GDateTime *now, const char *vm, const char *event, const char *state,
                  const char *previous, const char *reason)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *iso = g_date_time_format_iso8601 (now);

  json_builder_begin_object (b);
  pvm_json_add_string (b, "time", iso);
  pvm_json_add_string (b, "vm", vm);
  pvm_json_add_string (b, "event", event);
  if (state != NULL)
    {
      pvm_json_add_string (b, "state", state);
      pvm_json_add_string (b, "previous", previous);
      pvm_json_add_string (b, "reason", reason);
    }
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  pvm_print_json (root);
}

static void
print_event (const char *vm, const char *event, const char *state, const char *previous,
             const char *reason)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format (now, "%H:%M:%S");

  if (opt_json)
    print_json_event (now, vm, event, state, previous, reason);
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
  print_event (pvm_dbus_vm_get_name (vm), "state-changed", state, previous, reason);
}

static void
watch_object (Monitor *m, GDBusObject *object, gboolean announce)
{
  g_autoptr(PvmDBusVM) vm = pvm_dbus_object_get_vm (PVM_DBUS_OBJECT (object));

  if (vm == NULL)
    return;
  g_signal_connect (vm, "state-changed", G_CALLBACK (on_state_changed), m);
  if (announce)
    print_event (pvm_dbus_vm_get_name (vm), "added", NULL, NULL, NULL);
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
    print_event (pvm_dbus_vm_get_name (vm), "removed", NULL, NULL, NULL);
}

static void
on_owner_changed (GObject *om, GParamSpec *pspec, Monitor *m)
{
  g_autofree char *owner =
      g_dbus_object_manager_client_get_name_owner (G_DBUS_OBJECT_MANAGER_CLIENT (om));

  if (owner == NULL)
    g_printerr ("project-vm: the service went away; waiting for it to come back\n");
}

static int
run_monitor (const PvmClient *client, const PvmArgs *args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusObjectManager) om = pvm_client_object_manager (&error);
  Monitor m = { 0 };
  GList *objects;

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

static const GOptionEntry monitor_entries[] = {
  { "json", 0, 0, G_OPTION_ARG_NONE, &opt_json, "Print one JSON object a line", NULL },
  G_OPTION_ENTRY_NULL
};

const PvmCommand pvm_command_monitor = {
  "monitor", "", "Print VM state changes as they happen",
  "Watch the project VMs and print a line whenever one is added, removed or\n"
  "changes state, including changes made outside the service (virsh, a guest\n"
  "powering itself off), until Ctrl-C.",
  monitor_entries, 0, 0, FALSE, run_monitor,
};
