#include "build-config.h"
#include "manager.h"

#include "authority.h"
#include "create.h"
#include "errors.h"
#include "validate.h"

struct _PvmManager {
  PvmDBusManagerSkeleton parent;
  const PvmConfig *config;
  PvmHypervisor *hypervisor;
  GHashTable *vms;        /* the daemon's: VM name -> object */
  GHashTable *creating;   /* VM names with a Create under way */
};

enum { SIG_CREATED, N_SIGNALS };
static guint signals[N_SIGNALS];

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
  if (!g_hash_table_contains (self->vms, name))
    {
      g_dbus_method_invocation_return_error (invocation, PVM_ERROR,
          PVM_ERROR_NOT_FOUND, "there is no project VM named \"%s\"", name);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  path = pvm_vm_object_path (name);
  pvm_dbus_manager_complete_get_vm (iface, invocation, path);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* One Create call, from the polkit check to the answer. */
typedef struct {
  PvmManager *self;
  GDBusMethodInvocation *invocation;   /* our own reference */
  PvmCreateRequest *req;               /* handed to the worker once authorized */
  GError *invalid;                     /* the request was bad: said after authorization */
  char *claimed;                       /* the name this call holds, released at the end */
} CreateCall;

static void
create_call_free (CreateCall *call)
{
  if (call->claimed != NULL)
    g_hash_table_remove (call->self->creating, call->claimed);
  g_free (call->claimed);
  g_object_unref (call->self);
  g_object_unref (call->invocation);
  pvm_create_request_free (call->req);
  g_clear_error (&call->invalid);
  g_free (call);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CreateCall, create_call_free)

static void
on_created (GObject *source, GAsyncResult *res, gpointer data)
{
  g_autoptr(CreateCall) call = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(PvmDomainInfo) info = pvm_create_run_finish (res, &error);
  g_autofree char *path = NULL;

  if (info == NULL)
    {
      g_dbus_method_invocation_return_gerror (call->invocation, error);
      return;
    }
  /* Export before answering, so the caller can use the path at once. */
  g_signal_emit (call->self, signals[SIG_CREATED], 0, info);
  path = pvm_vm_object_path (info->name);
  pvm_dbus_manager_complete_create (PVM_DBUS_MANAGER (call->self), call->invocation, path);
}

static void
create_authorized (GDBusMethodInvocation *invocation, guint32 caller, gpointer data)
{
  g_autoptr(CreateCall) call = data;
  PvmManager *self = call->self;
  PvmCreateRequest *req;
  const char *name;

  if (call->invalid != NULL)
    {
      g_dbus_method_invocation_return_gerror (invocation, call->invalid);
      return;
    }
  name = call->req->name;
  if (g_hash_table_contains (self->vms, name))
    {
      g_dbus_method_invocation_return_error (invocation, PVM_ERROR, PVM_ERROR_EXISTS,
          "a VM named \"%s\" already exists", name);
      return;
    }
  if (!g_hash_table_add (self->creating, g_strdup (name)))
    {
      g_dbus_method_invocation_return_error (invocation, PVM_ERROR, PVM_ERROR_BUSY,
          "a VM named \"%s\" is being created right now", name);
      return;
    }
  call->claimed = g_strdup (name);
  req = g_steal_pointer (&call->req);
  req->owner = caller;
  pvm_create_run_async (self->config, self->hypervisor, req, on_created,
                        g_steal_pointer (&call));
}

static gboolean
handle_create (PvmDBusManager *iface, GDBusMethodInvocation *invocation,
               const char *name, GVariant *options)
{
  PvmManager *self = PVM_MANAGER (iface);
  CreateCall *call = g_new0 (CreateCall, 1);
  g_autofree char *quoted = pvm_quote_value (name);

  call->self = g_object_ref (self);
  call->invocation = g_object_ref (invocation);
  /* Checked now, told after authorization: a caller without the right
   * learns nothing, not even whether its input was valid. */
  call->req = pvm_create_request_parse (self->config, name, options, &call->invalid);
  pvm_authority_check_create (invocation, call->req ? name : quoted,
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
pvm_manager_finalize (GObject *object)
{
  PvmManager *self = PVM_MANAGER (object);

  g_clear_pointer (&self->creating, g_hash_table_unref);
  g_clear_pointer (&self->vms, g_hash_table_unref);
  g_clear_object (&self->hypervisor);
  G_OBJECT_CLASS (pvm_manager_parent_class)->finalize (object);
}

static void
pvm_manager_class_init (PvmManagerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pvm_manager_finalize;
  signals[SIG_CREATED] = g_signal_new ("created", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
}

static void
pvm_manager_init (PvmManager *self)
{
  self->creating = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

PvmManager *
pvm_manager_new (const PvmConfig *config, PvmHypervisor *hypervisor, GHashTable *vms)
{
  PvmManager *self = g_object_new (PVM_TYPE_MANAGER, NULL);
  PvmDBusManager *iface = PVM_DBUS_MANAGER (self);
  g_auto(GStrv) images = pvm_config_image_names (config);

  self->config = config;
  self->hypervisor = g_object_ref (hypervisor);
  self->vms = g_hash_table_ref (vms);
  pvm_dbus_manager_set_version (iface, PACKAGE_VERSION);
  pvm_dbus_manager_set_images (iface, (const char * const *) images);
  pvm_dbus_manager_set_default_image (iface, config->default_image);
  pvm_dbus_manager_set_default_memory_mi_b (iface, config->default_memory_mib);
  pvm_dbus_manager_set_default_cpus (iface, config->default_cpus);
  pvm_dbus_manager_set_default_disk_gi_b (iface, config->default_disk_gib);
  return self;
}
