#include "client.h"

#include <pwd.h>
#include <stdio.h>

#include "errors.h"

void
pvm_client_print_error (const GError *error)
{
  g_autoptr(GError) copy = g_error_copy (error);

  if (g_dbus_error_is_remote_error (copy))
    g_dbus_error_strip_remote_error (copy);
  g_printerr ("project-vm: %s\n", copy->message);
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
pvm_client_usage (const char *fmt, ...)
{
  va_list args;
  g_autofree char *msg = NULL;

  va_start (args, fmt);
  msg = g_strdup_vprintf (fmt, args);
  va_end (args);
  g_printerr ("project-vm: %s (see project-vm --help)\n", msg);
  return EXIT_USAGE;
}

static gboolean
check_owner (GDBusObjectManager *om, GError **error)
{
  g_autofree char *owner =
      g_dbus_object_manager_client_get_name_owner (G_DBUS_OBJECT_MANAGER_CLIENT (om));

  if (owner != NULL)
    return TRUE;
  g_set_error (error, PVM_ERROR, PVM_ERROR_FAILED,
               "the project-vm service is not running (nobody owns org.projectvm on the system bus)");
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

PvmDBusManager *
pvm_client_get_manager (GError **error)
{
  return pvm_dbus_manager_proxy_new_for_bus_sync (G_BUS_TYPE_SYSTEM,
      G_DBUS_PROXY_FLAGS_NONE, "org.projectvm", "/org/projectvm/Manager", NULL, error);
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
      if (g_error_matches (*error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN) ||
          g_error_matches (*error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER))
        {
          g_clear_error (error);
          g_set_error (error, PVM_ERROR, PVM_ERROR_FAILED,
                       "the project-vm service is not running (nobody owns org.projectvm on the system bus)");
        }
      return NULL;
    }
  return pvm_dbus_vm_proxy_new_for_bus_sync (G_BUS_TYPE_SYSTEM,
      G_DBUS_PROXY_FLAGS_NONE, "org.projectvm", path, NULL, error);
}

GDBusCallFlags
pvm_client_call_flags (const PvmClient *client)
{
  return client->interactive ? G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION
                             : G_DBUS_CALL_FLAGS_NONE;
}

void
pvm_json_string (GString *out, const char *text)
{
  g_string_append_c (out, '"');
  for (const unsigned char *p = (const unsigned char *) text; *p; p++)
    {
      if (*p == '"' || *p == '\\')
        g_string_append_printf (out, "\\%c", *p);
      else if (*p < 0x20)
        g_string_append_printf (out, "\\u%04x", *p);
      else
        g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
}

char *
pvm_format_mib (guint64 mib)
{
  if (mib >= 1024 && mib % 1024 == 0)
    return g_strdup_printf ("%" G_GUINT64_FORMAT "G", mib / 1024);
  return g_strdup_printf ("%" G_GUINT64_FORMAT "M", mib);
}

char *
pvm_owner_name (guint32 uid)
{
  struct passwd *pw = getpwuid (uid);
  return pw != NULL ? g_strdup (pw->pw_name) : g_strdup_printf ("%u", uid);
}

GVariant *
pvm_client_call (const PvmClient *client, gpointer proxy, const char *method,
                 GVariant *params, int timeout_ms, GUnixFDList **out_fds, GError **error)
{
  if (out_fds != NULL)
    return g_dbus_proxy_call_with_unix_fd_list_sync (G_DBUS_PROXY (proxy), method, params,
                                                     pvm_client_call_flags (client),
                                                     timeout_ms, NULL, out_fds, NULL, error);
  return g_dbus_proxy_call_sync (G_DBUS_PROXY (proxy), method, params,
                                 pvm_client_call_flags (client), timeout_ms, NULL, error);
}

void
pvm_client_call_async (const PvmClient *client, gpointer proxy, const char *method,
                       GVariant *params, int timeout_ms, GAsyncReadyCallback cb, gpointer data)
{
  g_dbus_proxy_call (G_DBUS_PROXY (proxy), method, params, pvm_client_call_flags (client),
                     timeout_ms, NULL, cb, data);
}
