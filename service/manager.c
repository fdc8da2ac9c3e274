#include "build-config.h"
#include "manager.h"

#include "authority.h"
#include "create.h"
#include "errors.h"
#include "validate.h"
#include "vm.h"

struct _PvmManager {
  PvmDBusManagerSkeleton parent;
  PvmDaemon *daemon;   /* not owned */
};

static void pvm_manager_iface_init (PvmDBusManagerIface *iface);

G_DEFINE_TYPE_WITH_CODE (PvmManager, pvm_manager, PVM_DBUS_TYPE_MANAGER_SKELETON,
                         G_IMPLEMENT_INTERFACE (PVM_DBUS_TYPE_MANAGER,
                                                pvm_manager_iface_init))

static gboolean
handle_get_vm (PvmDBusManager *iface, GDBusMethodInvocation *invocation,
               const char *name)
{
  PvmManager *self = PVM_MANAGER (iface);
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;

  if (!pvm_validate_name (name, &error))
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  if (pvm_daemon_find_vm (self->daemon, name) == NULL)
    {
      g_dbus_method_invocation_return_error (invocation, PVM_ERROR,
          PVM_ERROR_NOT_FOUND, "there is no project VM named \"%s\"", name);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  path = pvm_vm_object_path (name);
  pvm_dbus_manager_complete_get_vm (iface, invocation, path);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

typedef struct {
  PvmManager *self;
  PvmCreateRequest *req;
} CreateCall;

static void
create_call_free (CreateCall *call)
{
  g_object_unref (call->self);
  pvm_create_request_free (call->req);
  g_free (call);
}

static void
on_created (GObject *source, GAsyncResult *res, gpointer data)
{
  g_autoptr(GDBusMethodInvocation) invocation = data;
  PvmManager *self = g_object_get_data (G_OBJECT (invocation), "pvm-manager");
  const char *name = g_object_get_data (G_OBJECT (invocation), "pvm-name");
  g_autoptr(GError) error = NULL;
  g_autoptr(PvmDomainInfo) info = pvm_create_run_finish (res, &error);
  g_autofree char *path = NULL;

  pvm_daemon_release_name (self->daemon, name);
  if (info == NULL)
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return;
    }
  /* Export before answering, so the caller can use the path at once. */
  pvm_daemon_apply_info (self->daemon, info, "created");
  path = pvm_vm_object_path (info->name);
  pvm_dbus_manager_complete_create (PVM_DBUS_MANAGER (self), invocation, path);
}

static void
create_authorized (GDBusMethodInvocation *invocation, guint32 caller, gpointer data)
{
  CreateCall *call = data;
  PvmManager *self = call->self;
  PvmCreateRequest *req = call->req;

  if (pvm_daemon_find_vm (self->daemon, req->name) != NULL)
    {
      g_dbus_method_invocation_return_error (invocation, PVM_ERROR, PVM_ERROR_EXISTS,
          "a VM named \"%s\" already exists", req->name);
      create_call_free (call);
      return;
    }
  if (!pvm_daemon_claim_name (self->daemon, req->name))
    {
      g_dbus_method_invocation_return_error (invocation, PVM_ERROR, PVM_ERROR_BUSY,
          "a VM named \"%s\" is being created right now", req->name);
      create_call_free (call);
      return;
    }
  req->owner = caller;
  g_object_set_data_full (G_OBJECT (invocation), "pvm-manager", g_object_ref (self),
                          g_object_unref);
  g_object_set_data_full (G_OBJECT (invocation), "pvm-name", g_strdup (req->name), g_free);
  call->req = NULL;
  pvm_create_run_async (self->daemon, req, on_created, g_object_ref (invocation));
  create_call_free (call);
}

static void
create_invalid (GDBusMethodInvocation *invocation, guint32 caller, gpointer data)
{
  GError *error = g_object_get_data (G_OBJECT (invocation), "pvm-error");

  g_dbus_method_invocation_return_gerror (invocation, error);
  create_call_free (data);
}

static gboolean
handle_create (PvmDBusManager *iface, GDBusMethodInvocation *invocation,
               const char *name, GVariant *options)
{
  PvmManager *self = PVM_MANAGER (iface);
  g_autoptr(GError) error = NULL;
  CreateCall *call;
  PvmCreateRequest *req;
  g_autofree char *quoted = pvm_quote_value (name);

  /* Authorization comes first: a caller without the right learns nothing,
   * not even whether its input was valid. */
  req = pvm_create_request_parse (pvm_daemon_get_config (self->daemon), name, options, &error);
  call = g_new0 (CreateCall, 1);
  call->self = g_object_ref (self);
  call->req = req;
  if (req == NULL)
    {
      g_object_set_data_full (G_OBJECT (invocation), "pvm-error",
                              g_steal_pointer (&error), (GDestroyNotify) g_error_free);
      pvm_authority_check (invocation, PVM_ACTION_CREATE, quoted, PVM_NO_OWNER,
                           create_invalid, call, (GDestroyNotify) create_call_free);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  pvm_authority_check (invocation, PVM_ACTION_CREATE, name, PVM_NO_OWNER,
                       create_authorized, call, (GDestroyNotify) create_call_free);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
pvm_manager_iface_init (PvmDBusManagerIface *iface)
{
  iface->handle_create = handle_create;
  iface->handle_get_vm = handle_get_vm;
}

static void
pvm_manager_class_init (PvmManagerClass *klass)
{
}

static void
pvm_manager_init (PvmManager *self)
{
}

PvmManager *
pvm_manager_new (PvmDaemon *daemon)
{
  PvmManager *self = g_object_new (PVM_TYPE_MANAGER, NULL);
  PvmDBusManager *iface = PVM_DBUS_MANAGER (self);
  const PvmConfig *config = pvm_daemon_get_config (daemon);
  g_auto(GStrv) images = pvm_config_image_names (config);

  self->daemon = daemon;
  pvm_dbus_manager_set_version (iface, PACKAGE_VERSION);
  pvm_dbus_manager_set_images (iface, (const char * const *) images);
  pvm_dbus_manager_set_default_image (iface, config->default_image);
  pvm_dbus_manager_set_default_memory_mi_b (iface, config->default_memory_mib);
  pvm_dbus_manager_set_default_cpus (iface, config->default_cpus);
  pvm_dbus_manager_set_default_disk_gi_b (iface, config->default_disk_gib);
  return self;
}
