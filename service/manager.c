#include "build-config.h"
#include "manager.h"

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

static gboolean
handle_create (PvmDBusManager *iface, GDBusMethodInvocation *invocation,
               const char *name, GVariant *options)
{
  g_dbus_method_invocation_return_error (invocation, PVM_ERROR, PVM_ERROR_FAILED,
                                         "not implemented yet");
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
