#include "client.h"

#include <stdio.h>
#include <string.h>

#include "errors.h"
#include "validate.h"

#define NOT_RUNNING \
  "the project-vm service is not running; start it: systemctl start project-vmd"

/* No bus, nobody owning org.projectvm, or a bus that could not start it. */
static gboolean
service_unavailable (const GError *error)
{
  /* The system bus socket itself: missing, or nobody listening. */
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND) ||
         g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED) ||
         g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN) ||
         g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER) ||
         g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SPAWN_SERVICE_NOT_FOUND) ||
         g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SPAWN_CHILD_EXITED) ||
         g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SPAWN_EXEC_FAILED);
}

/* What a refused user can do. polkit's own failures carry a ": detail" and
 * get no hint: the group would not help there. */
static const char *
not_authorized_hint (const GError *error)
{
  if (!g_error_matches (error, PVM_ERROR, PVM_ERROR_NOT_AUTHORIZED) ||
      strchr (error->message, ':') != NULL)
    return "";
  if (strstr (error->message, "org.projectvm.manage-others") != NULL)
    return "; it is another user's VM: only an admin may do that";
  return "; ask an admin to add you to the group project-vm";
}

void
pvm_client_print_error (const GError *error)
{
  g_autoptr(GError) copy = g_error_copy (error);

  if (service_unavailable (error))
    {
      g_printerr ("project-vm: " NOT_RUNNING "\n");
      return;
    }
  if (g_dbus_error_is_remote_error (copy))
    g_dbus_error_strip_remote_error (copy);
  g_printerr ("project-vm: %s%s\n", copy->message, not_authorized_hint (copy));
}

int
pvm_client_fail (const char *fmt, ...)
{
  va_list args;
  g_autofree char *msg = NULL;

  va_start (args, fmt);
  msg = g_strdup_vprintf (fmt, args);
  va_end (args);
  g_printerr ("project-vm: %s\n", msg);
  return EXIT_FAILED;
}

int
pvm_client_usage (const PvmClient *client, const char *fmt, ...)
{
  va_list args;
  g_autofree char *msg = NULL;

  va_start (args, fmt);
  msg = g_strdup_vprintf (fmt, args);
  va_end (args);
  g_printerr ("project-vm: %s; see project-vm %s%s--help\n", msg,
              client->command ? client->command : "", client->command ? " " : "");
  return EXIT_USAGE;
}

static gboolean
check_owner (GDBusObjectManager *om, GError **error)
{
  g_autofree char *owner =
      g_dbus_object_manager_client_get_name_owner (G_DBUS_OBJECT_MANAGER_CLIENT (om));

  if (owner != NULL)
    return TRUE;
  g_set_error_literal (error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER, NOT_RUNNING);
  return FALSE;
}

GDBusObjectManager *
pvm_client_object_manager (GError **error)
{
  g_autoptr(GDBusObjectManager) om = pvm_dbus_object_manager_client_new_for_bus_sync (
      G_BUS_TYPE_SYSTEM, G_DBUS_OBJECT_MANAGER_CLIENT_FLAGS_NONE,
      "org.projectvm", "/org/projectvm", NULL, error);

  if (om == NULL || !check_owner (om, error))
    return NULL;
  return g_steal_pointer (&om);
}

static int
compare_vms (gconstpointer a, gconstpointer b)
{
  PvmDBusVM *va = *(PvmDBusVM **) a;
  PvmDBusVM *vb = *(PvmDBusVM **) b;
  return g_strcmp0 (pvm_dbus_vm_get_name (va), pvm_dbus_vm_get_name (vb));
}

/* One GetManagedObjects round trip (made when OM was), no libvirt call in
 * the service. */
GPtrArray *
pvm_client_list_vms (GDBusObjectManager *om)
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

PvmDBusManager *
pvm_client_get_manager (GError **error)
{
  return pvm_dbus_manager_proxy_new_for_bus_sync (G_BUS_TYPE_SYSTEM,
      G_DBUS_PROXY_FLAGS_NONE, "org.projectvm", "/org/projectvm/Manager", NULL, error);
}

/* The service's NotFound, said again with the names the user may have
 * meant, or where to look. */
static void
suggest_names (const char *name, GError **error)
{
  g_autoptr(GDBusObjectManager) om = pvm_client_object_manager (NULL);
  g_autoptr(GPtrArray) vms = om != NULL ? pvm_client_list_vms (om) : NULL;
  g_autofree char *close = vms != NULL ? pvm_close_names (name, vms) : NULL;
  g_autofree char *quoted = pvm_quote_value (name);

  g_clear_error (error);
  if (close != NULL)
    g_set_error (error, PVM_ERROR, PVM_ERROR_NOT_FOUND, "no VM named %s; did you mean %s?",
                 quoted, close);
  else
    g_set_error (error, PVM_ERROR, PVM_ERROR_NOT_FOUND, "no VM named %s; see project-vm list",
                 quoted);
}

PvmDBusVM *
pvm_client_get_vm (const PvmClient *client, const char *name, GError **error)
{
  g_autoptr(PvmDBusManager) manager = pvm_client_get_manager (error);
  g_autofree char *path = NULL;

  if (manager == NULL)
    return NULL;
  if (!pvm_dbus_manager_call_get_vm_sync (manager, name, &path, NULL, error))
    {
      if (g_error_matches (*error, PVM_ERROR, PVM_ERROR_NOT_FOUND))
        suggest_names (name, error);
      return NULL;
    }
  return pvm_dbus_vm_proxy_new_for_bus_sync (G_BUS_TYPE_SYSTEM,
      G_DBUS_PROXY_FLAGS_NONE, "org.projectvm", path, NULL, error);
}

static GDBusCallFlags
call_flags (const PvmClient *client)
{
  return client->interactive ? G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION
                             : G_DBUS_CALL_FLAGS_NONE;
}

GVariant *
pvm_client_call (const PvmClient *client, gpointer proxy, const char *method,
                 GVariant *params, int timeout_ms, GUnixFDList **out_fds, GError **error)
{
  if (out_fds != NULL)
    return g_dbus_proxy_call_with_unix_fd_list_sync (G_DBUS_PROXY (proxy), method, params,
                                                     call_flags (client),
                                                     timeout_ms, NULL, out_fds, NULL, error);
  return g_dbus_proxy_call_sync (G_DBUS_PROXY (proxy), method, params,
                                 call_flags (client), timeout_ms, NULL, error);
}

void
pvm_client_call_async (const PvmClient *client, gpointer proxy, const char *method,
                       GVariant *params, int timeout_ms, GAsyncReadyCallback cb, gpointer data)
{
  g_dbus_proxy_call (G_DBUS_PROXY (proxy), method, params, call_flags (client),
                     timeout_ms, NULL, cb, data);
}

gboolean
pvm_confirm (const char *question)
{
  char answer[16] = "";

  g_print ("%s [y/N] ", question);
  fflush (stdout);
  if (fgets (answer, sizeof answer, stdin) == NULL)
    return FALSE;
  return answer[0] == 'y' || answer[0] == 'Y';
}
