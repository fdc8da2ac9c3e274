#include "authority.h"

#include <polkit/polkit.h>

#include "errors.h"

typedef struct {
  GDBusMethodInvocation *invocation;
  char *action;
  char *vm_name;
  gboolean on_vm;   /* FALSE: Create, which has no owner */
  guint32 owner;
  guint32 caller;
  PvmAuthorizedFunc func;
  gpointer user_data;
  GDestroyNotify destroy;
} Check;

static void
check_free (Check *c)
{
  g_object_unref (c->invocation);
  g_free (c->action);
  g_free (c->vm_name);
  if (c->destroy != NULL)
    c->destroy (c->user_data);
  g_free (c);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Check, check_free)

/* On success USER_DATA passes to the callback, which frees it. */
static void
grant (Check *c)
{
  c->destroy = NULL;
  c->func (c->invocation, c->caller, c->user_data);
}

static void
deny (Check *c, const char *detail)
{
  g_dbus_method_invocation_return_error (c->invocation, PVM_ERROR,
      PVM_ERROR_NOT_AUTHORIZED, "not authorized for %s%s%s%s", c->action,
      c->vm_name ? " on VM \"" : "", c->vm_name ? c->vm_name : "",
      c->vm_name ? "\"" : "");
  g_debug ("denied %s to uid %u: %s", c->action, c->caller, detail);
}

static char *
polkit_message (const Check *c)
{
  if (g_str_equal (c->action, PVM_ACTION_CREATE))
    return g_strdup_printf ("Authentication is required to create the project VM \"%s\"",
                            c->vm_name);
  if (g_str_equal (c->action, PVM_ACTION_DESTROY))
    return g_strdup_printf ("Authentication is required to destroy the project VM \"%s\"",
                            c->vm_name);
  if (g_str_equal (c->action, PVM_ACTION_MANAGE_OTHERS))
    return g_strdup_printf ("Authentication is required to manage the project VM \"%s\" of uid %u",
                            c->vm_name, c->owner);
  return g_strdup_printf ("Authentication is required to manage the project VM \"%s\"",
                          c->vm_name);
}

static void
on_polkit_result (GObject *source, GAsyncResult *res, gpointer data)
{
  g_autoptr(Check) c = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(PolkitAuthorizationResult) result =
      polkit_authority_check_authorization_finish (POLKIT_AUTHORITY (source), res, &error);

  if (result == NULL)
    {
      g_dbus_method_invocation_return_error (c->invocation, PVM_ERROR,
          PVM_ERROR_NOT_AUTHORIZED, "not authorized for %s: polkit failed: %s",
          c->action, error->message);
      return;
    }
  if (polkit_authorization_result_get_is_authorized (result))
    grant (c);
  else if (polkit_authorization_result_get_dismissed (result))
    deny (c, "the authentication dialog was dismissed");
  else
    deny (c, polkit_authorization_result_get_is_challenge (result)
          ? "authentication is needed" : "polkit said no");
}

static void
on_authority (GObject *source, GAsyncResult *res, gpointer data)
{
  g_autoptr(Check) c = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(PolkitAuthority) authority = polkit_authority_get_finish (res, &error);
  g_autoptr(PolkitSubject) subject = NULL;
  g_autoptr(PolkitDetails) details = NULL;
  g_autofree char *message = NULL;
  PolkitCheckAuthorizationFlags flags = POLKIT_CHECK_AUTHORIZATION_FLAGS_NONE;
  const char *action;
  GDBusMessage *msg = g_dbus_method_invocation_get_message (c->invocation);

  if (authority == NULL)
    {
      g_dbus_method_invocation_return_error (c->invocation, PVM_ERROR,
          PVM_ERROR_NOT_AUTHORIZED, "not authorized for %s: no polkit authority: %s",
          c->action, error->message);
      return;
    }
  subject = polkit_system_bus_name_new (g_dbus_method_invocation_get_sender (c->invocation));
  details = polkit_details_new ();
  message = polkit_message (c);
  polkit_details_insert (details, "polkit.message", message);
  if (c->vm_name != NULL)
    polkit_details_insert (details, "vm", c->vm_name);
  /* Ask for a password only when the caller said it can show a prompt. */
  if (g_dbus_message_get_flags (msg) & G_DBUS_MESSAGE_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION)
    flags |= POLKIT_CHECK_AUTHORIZATION_FLAGS_ALLOW_USER_INTERACTION;
  /* Argument order is unspecified: read c->action before handing c on. */
  action = c->action;
  polkit_authority_check_authorization (authority, subject, action, details,
                                        flags, NULL, on_polkit_result,
                                        g_steal_pointer (&c));
}

static void
on_caller_uid (GObject *source, GAsyncResult *res, gpointer data)
{
  g_autoptr(Check) c = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply =
      g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, &error);

  if (reply == NULL)
    {
      g_dbus_method_invocation_return_error (c->invocation, PVM_ERROR,
          PVM_ERROR_NOT_AUTHORIZED, "not authorized for %s: cannot tell who is calling: %s",
          c->action, error->message);
      return;
    }
  g_variant_get (reply, "(u)", &c->caller);
  /* No uid is "nobody": an owner that matches no caller is someone else. */
  if (c->on_vm && c->owner != c->caller)
    {
      g_free (c->action);
      c->action = g_strdup (PVM_ACTION_MANAGE_OTHERS);
    }
  /* root is the administrator polkit would ask for anyway. */
  if (c->caller == 0)
    {
      grant (c);
      return;
    }
  polkit_authority_get_async (NULL, on_authority, g_steal_pointer (&c));
}

static void
start_check (Check *c)
{
  GDBusMethodInvocation *invocation = c->invocation;

  g_dbus_connection_call (g_dbus_method_invocation_get_connection (invocation),
                          "org.freedesktop.DBus", "/org/freedesktop/DBus",
                          "org.freedesktop.DBus", "GetConnectionUnixUser",
                          g_variant_new ("(s)", g_dbus_method_invocation_get_sender (invocation)),
                          G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE, -1,
                          NULL, on_caller_uid, c);
}

static Check *
check_new (GDBusMethodInvocation *invocation, const char *action, const char *vm_name,
           PvmAuthorizedFunc func, gpointer user_data, GDestroyNotify destroy)
{
  Check *c = g_new0 (Check, 1);

  c->invocation = g_object_ref (invocation);
  c->action = g_strdup (action);
  c->vm_name = g_strdup (vm_name);
  c->func = func;
  c->user_data = user_data;
  c->destroy = destroy;
  return c;
}

void
pvm_authority_check (GDBusMethodInvocation *invocation, const char *action,
                     const char *vm_name, guint32 owner, PvmAuthorizedFunc func,
                     gpointer user_data, GDestroyNotify destroy)
{
  Check *c = check_new (invocation, action, vm_name, func, user_data, destroy);

  c->on_vm = TRUE;
  c->owner = owner;
  start_check (c);
}

void
pvm_authority_check_unowned (GDBusMethodInvocation *invocation, const char *action,
                             const char *vm_name, PvmAuthorizedFunc func,
                             gpointer user_data, GDestroyNotify destroy)
{
  start_check (check_new (invocation, action, vm_name, func, user_data, destroy));
}
