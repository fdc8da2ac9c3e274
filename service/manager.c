#include "build-config.h"

#include <string.h>
#include "manager.h"

#include "authority.h"
#include "create.h"
#include "errors.h"
#include "options.h"
#include "quota.h"
#include "vm.h"
#include "storage.h"
#include "validate.h"
#include "virt.h"

struct _PvmManager {
  PvmDBusManagerSkeleton parent;
  const PvmConfig *config;
  PvmHypervisor *hypervisor;
  PvmKept *kept;          /* the daemon's: the kept project disks */
  GHashTable *vms;        /* the daemon's: VM name -> object */
  GHashTable *creating;   /* VM names with a Create or DeleteKeptDisk under way */
  GList *in_flight;       /* CreateCall*: Creates past the quota check, not answered */
  gboolean scanning;      /* a read of the kept disks is under way */
  gboolean rescan;        /* ... and another one is due after it */
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
  guint32 uid;                         /* the caller, once in flight */
  guint64 ask[PVM_QUOTA_N_KEYS];       /* what it counts against the caller's quota */
} CreateCall;

static void
create_call_free (CreateCall *call)
{
  call->self->in_flight = g_list_remove (call->self->in_flight, call);
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
  /* A Create that made it leaves no kept disk of its name behind. */
  pvm_kept_remove (call->self->kept, info->name);
  /* Export before answering, so the caller can use the path at once. */
  g_signal_emit (call->self, signals[SIG_CREATED], 0, info);
  path = pvm_vm_object_path (info->name);
  pvm_dbus_manager_complete_create (PVM_DBUS_MANAGER (call->self), call->invocation, path);
}

/* ---- quotas: counted and checked on the main loop, where the name claims
 * are, so two Creates in flight cannot both squeeze under a limit ---- */

/* What UID uses: its VMs (memory, vCPUs, project disk + system disk), its
 * kept disks, and the asks of its Creates in flight. */
static void
quota_used (PvmManager *self, guint32 uid, guint64 used[PVM_QUOTA_N_KEYS])
{
  GHashTableIter iter;
  gpointer value;
  GVariant *kept = pvm_dbus_manager_get_kept_disks (PVM_DBUS_MANAGER (self));

  memset (used, 0, PVM_QUOTA_N_KEYS * sizeof used[0]);
  g_hash_table_iter_init (&iter, self->vms);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      PvmDBusVM *vm = value;
      guint64 root = pvm_vm_get_root_gib (PVM_VM (value));

      if (pvm_dbus_vm_get_owner (vm) != uid)
        continue;
      used[PVM_QUOTA_VMS] += 1;
      used[PVM_QUOTA_MEMORY_MIB] += pvm_dbus_vm_get_memory_mib (vm);
      used[PVM_QUOTA_CPUS] += pvm_dbus_vm_get_cpus (vm);
      /* A VM made before root-gib was recorded: the default it got. */
      used[PVM_QUOTA_DISK_GIB] += pvm_dbus_vm_get_disk_gib (vm) +
                                  (root != 0 ? root : self->config->default_root_gib);
    }
  if (kept != NULL)
    {
      GVariantIter it;
      const char *name;
      guint32 owner;
      guint64 gib, kept_at;

      g_variant_iter_init (&it, kept);
      while (g_variant_iter_next (&it, "(&sutt)", &name, &owner, &gib, &kept_at))
        if (owner == uid && !g_hash_table_contains (self->vms, name))
          used[PVM_QUOTA_DISK_GIB] += gib;
    }
  for (GList *l = self->in_flight; l != NULL; l = l->next)
    {
      CreateCall *call = l->data;

      if (call->uid != uid)
        continue;
      used[PVM_QUOTA_CREATES_IN_FLIGHT] += 1;
      /* Its VM may be exported already (libvirt told of the new domain
       * before the worker answered): counted above. */
      if (g_hash_table_contains (self->vms, call->claimed))
        continue;
      for (guint k = 0; k < PVM_QUOTA_CREATES_IN_FLIGHT; k++)
        used[k] += call->ask[k];
    }
}

static gboolean
quota_check (PvmManager *self, guint32 uid, const guint64 ask[PVM_QUOTA_N_KEYS],
             GError **error)
{
  static const char * const units[] = { " VMs", " MiB", " vCPUs", " GiB" };
  guint64 limits[PVM_QUOTA_N_KEYS], used[PVM_QUOTA_N_KEYS];

  if (uid == 0)
    return TRUE;
  pvm_quota_limits_for (self->config, uid, limits);
  quota_used (self, uid, used);
  if (limits[PVM_QUOTA_CREATES_IN_FLIGHT] != 0 &&
      used[PVM_QUOTA_CREATES_IN_FLIGHT] >= limits[PVM_QUOTA_CREATES_IN_FLIGHT])
    {
      g_set_error (error, PVM_ERROR, PVM_ERROR_BUSY,
                   "quota: creates-in-flight: you have %" G_GUINT64_FORMAT
                   " Creates under way, at most %" G_GUINT64_FORMAT
                   " at a time; try again when one has ended",
                   used[PVM_QUOTA_CREATES_IN_FLIGHT], limits[PVM_QUOTA_CREATES_IN_FLIGHT]);
      return FALSE;
    }
  for (guint k = 0; k < PVM_QUOTA_CREATES_IN_FLIGHT; k++)
    {
      if (limits[k] == 0 || used[k] + ask[k] <= limits[k])
        continue;
      if (k == PVM_QUOTA_VMS)
        g_set_error (error, PVM_ERROR, PVM_ERROR_QUOTA_EXCEEDED,
                     "quota exceeded: vms: you have %" G_GUINT64_FORMAT " of %"
                     G_GUINT64_FORMAT " VMs and this asks for %" G_GUINT64_FORMAT " more",
                     used[k], limits[k], ask[k]);
      else
        g_set_error (error, PVM_ERROR, PVM_ERROR_QUOTA_EXCEEDED,
                     "quota exceeded: %s: you use %" G_GUINT64_FORMAT "%s of %"
                     G_GUINT64_FORMAT "%s and this VM asks for %" G_GUINT64_FORMAT "%s",
                     pvm_quota_key_names[k], used[k], units[k], limits[k], units[k],
                     ask[k], units[k]);
      return FALSE;
    }
  return TRUE;
}

static GVariant *
quota_to_variant (const guint64 values[PVM_QUOTA_N_KEYS])
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  for (guint k = 0; k < PVM_QUOTA_N_KEYS; k++)
    {
      gboolean wide = k == PVM_QUOTA_MEMORY_MIB || k == PVM_QUOTA_DISK_GIB;

      g_variant_builder_add (&b, "{sv}", pvm_quota_key_names[k],
                             wide ? g_variant_new_uint64 (values[k])
                                  : g_variant_new_uint32 ((guint32) MIN (values[k], G_MAXUINT32)));
    }
  return g_variant_builder_end (&b);
}

static gboolean
handle_get_quota (PvmDBusManager *iface, GDBusMethodInvocation *invocation, guint32 uid)
{
  PvmManager *self = PVM_MANAGER (iface);
  guint64 limits[PVM_QUOTA_N_KEYS], used[PVM_QUOTA_N_KEYS];

  pvm_quota_limits_for (self->config, uid, limits);
  quota_used (self, uid, used);
  pvm_dbus_manager_complete_get_quota (iface, invocation, quota_to_variant (limits),
                                       quota_to_variant (used));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
create_authorized (GDBusMethodInvocation *invocation, guint32 caller, gpointer data)
{
  g_autoptr(CreateCall) call = data;
  PvmManager *self = call->self;
  PvmCreateRequest *req;
  const PvmKeptDisk *kept;
  g_autoptr(GError) refused = NULL;
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
  /* The caller's own kept disk of NAME is attached, and counted already. */
  kept = pvm_kept_get (self->kept, name);
  call->ask[PVM_QUOTA_VMS] = 1;
  call->ask[PVM_QUOTA_MEMORY_MIB] = call->req->memory_mib;
  call->ask[PVM_QUOTA_CPUS] = call->req->cpus;
  call->ask[PVM_QUOTA_DISK_GIB] = call->req->root_gib +
      (kept != NULL && kept->owner == caller ? 0 : call->req->disk_gib);
  if (!quota_check (self, caller, call->ask, &refused))
    {
      g_message ("%s: refused to uid %u: %s", name, caller, refused->message);
      g_dbus_method_invocation_return_gerror (invocation, refused);
      return;
    }
  call->uid = caller;
  self->in_flight = g_list_prepend (self->in_flight, call);
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
  pvm_authority_check_unowned (invocation, PVM_ACTION_CREATE, call->req ? name : quoted,
                              create_authorized, call, (GDestroyNotify) create_call_free);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* ---- DeleteKeptDisk ---- */

typedef struct {
  PvmManager *self;
  GDBusMethodInvocation *invocation;
  char *name;
  GError *invalid;          /* said after authorization */
  guint32 owner;            /* whose disk the authorization was for */
  gboolean unknown;         /* no kept disk of that name when asked */
  char *claimed;
  /* the worker's */
  const PvmConfig *config;
  PvmHypervisor *hypervisor;
} DeleteCall;

static void
delete_call_free (DeleteCall *call)
{
  if (call->claimed != NULL)
    g_hash_table_remove (call->self->creating, call->claimed);
  g_free (call->claimed);
  g_free (call->name);
  g_clear_error (&call->invalid);
  g_object_unref (call->invocation);
  g_object_unref (call->self);
  g_free (call);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DeleteCall, delete_call_free)

static gboolean
delete_kept (DeleteCall *call, GError **error)
{
  g_autoptr(virConnect) conn = pvm_hypervisor_dup_connection (call->hypervisor, error);
  g_autoptr(virStoragePool) pool = NULL;
  g_autoptr(PvmKeptDisk) disk = NULL;
  g_autofree char *vol_name = pvm_volume_name (call->name, PVM_VOLUME_DATA);
  g_autoptr(GError) local = NULL;

  if (conn == NULL)
    return FALSE;
  pool = pvm_storage_ensure_pool (conn, call->config->pool, call->config->storage_dir, error);
  if (pool == NULL ||
      !pvm_kept_lookup (conn, pool, call->config->records_dir, call->name, &disk, error))
    return FALSE;
  if (disk == NULL)
    {
      g_set_error (error, PVM_ERROR, PVM_ERROR_NOT_FOUND,
                   "there is no kept project disk named \"%s\"", call->name);
      return FALSE;
    }
  /* Authorized for another owner than the disk has now (the table was not
   * read yet, or it changed): do nothing rather than guess. */
  if (disk->owner != call->owner)
    {
      g_set_error (error, PVM_ERROR, PVM_ERROR_BUSY,
                   "the kept project disk \"%s\" changed meanwhile; try again", call->name);
      return FALSE;
    }
  if (!pvm_storage_delete (pool, vol_name, error))
    return FALSE;
  if (!pvm_kept_record_remove (call->config->records_dir, call->name, &local))
    g_warning ("%s: %s", call->name, local->message);
  return TRUE;
}

static void
delete_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GError *error = NULL;

  if (delete_kept (data, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
on_deleted (GObject *source, GAsyncResult *res, gpointer data)
{
  g_autoptr(DeleteCall) call = data;
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (res), &error))
    {
      g_dbus_method_invocation_return_gerror (call->invocation, error);
      return;
    }
  g_message ("%s: deleted the kept project disk", call->name);
  pvm_kept_remove (call->self->kept, call->name);
  pvm_dbus_manager_complete_delete_kept_disk (PVM_DBUS_MANAGER (call->self),
                                              call->invocation);
}

static void
delete_authorized (GDBusMethodInvocation *invocation, guint32 caller, gpointer data)
{
  g_autoptr(DeleteCall) call = data;
  PvmManager *self = call->self;
  g_autoptr(GTask) task = NULL;

  if (call->invalid != NULL)
    {
      g_dbus_method_invocation_return_gerror (invocation, call->invalid);
      return;
    }
  if (g_hash_table_contains (self->vms, call->name))
    {
      g_dbus_method_invocation_return_error (invocation, PVM_ERROR, PVM_ERROR_NOT_FOUND,
          "there is no kept project disk named \"%s\" (the VM \"%s\" uses its disk)",
          call->name, call->name);
      return;
    }
  /* A Create of the name would attach the disk being deleted. */
  if (!g_hash_table_add (self->creating, g_strdup (call->name)))
    {
      g_dbus_method_invocation_return_error (invocation, PVM_ERROR, PVM_ERROR_BUSY,
          "a VM named \"%s\" is being created right now", call->name);
      return;
    }
  call->claimed = g_strdup (call->name);
  if (call->unknown)
    call->owner = caller;
  task = g_task_new (self, NULL, on_deleted, g_steal_pointer (&call));
  g_task_set_task_data (task, data, NULL);
  g_task_run_in_thread (task, delete_thread);
}

static gboolean
handle_delete_kept_disk (PvmDBusManager *iface, GDBusMethodInvocation *invocation,
                         const char *name, GVariant *options)
{
  PvmManager *self = PVM_MANAGER (iface);
  DeleteCall *call = g_new0 (DeleteCall, 1);
  const PvmOptionSpec none[] = { { NULL } };
  const PvmKeptDisk *disk = pvm_kept_get (self->kept, name);
  g_autofree char *quoted = pvm_quote_value (name);

  call->self = g_object_ref (self);
  call->invocation = g_object_ref (invocation);
  call->name = g_strdup (name);
  call->config = self->config;
  call->hypervisor = self->hypervisor;
  if (pvm_validate_name (name, &call->invalid))
    pvm_options_parse (options, none, &call->invalid);
  /* The owner as the table knows it; the worker holds the disk to it. A
   * name with no kept disk is nobody's: the caller's own right decides,
   * and the answer is NotFound. */
  call->unknown = disk == NULL;
  if (call->unknown)
    pvm_authority_check_unowned (invocation, PVM_ACTION_DESTROY, call->invalid ? quoted : name,
                                 delete_authorized, call, (GDestroyNotify) delete_call_free);
  else
    {
      call->owner = disk->owner;
      pvm_authority_check (invocation, PVM_ACTION_DESTROY, call->invalid ? quoted : name,
                           call->owner, delete_authorized, call,
                           (GDestroyNotify) delete_call_free);
    }
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* ---- KeptDisks: read on each sync with libvirt, then kept current ---- */

static void scan_kept (PvmManager *self);

static void
scan_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  PvmManager *self = source;
  GError *error = NULL;
  g_autoptr(virConnect) conn = pvm_hypervisor_dup_connection (self->hypervisor, &error);
  g_autoptr(virStoragePool) pool = NULL;
  GPtrArray *disks = NULL;

  if (conn != NULL)
    pool = pvm_storage_ensure_pool (conn, self->config->pool, self->config->storage_dir,
                                    &error);
  if (pool != NULL)
    disks = pvm_kept_scan (conn, pool, self->config->records_dir, &error);
  if (disks != NULL)
    g_task_return_pointer (task, disks, (GDestroyNotify) g_ptr_array_unref);
  else
    g_task_return_error (task, error);
}

static void
on_scanned (GObject *source, GAsyncResult *res, gpointer data)
{
  PvmManager *self = PVM_MANAGER (source);
  guint generation = GPOINTER_TO_UINT (data);
  g_autoptr(GError) error = NULL;
  GPtrArray *disks = g_task_propagate_pointer (G_TASK (res), &error);

  self->scanning = FALSE;
  if (disks == NULL)
    g_warning ("reading the kept project disks: %s", error->message);
  /* A change while it read makes what it read stale: read again. */
  else if (generation != pvm_kept_generation (self->kept))
    {
      g_ptr_array_unref (disks);
      self->rescan = TRUE;
    }
  else
    pvm_kept_replace (self->kept, disks);
  if (self->rescan)
    scan_kept (self);
}

static void
scan_kept (PvmManager *self)
{
  g_autoptr(GTask) task = NULL;

  if (self->scanning)
    {
      self->rescan = TRUE;
      return;
    }
  self->scanning = TRUE;
  self->rescan = FALSE;
  task = g_task_new (self, NULL, on_scanned,
                     GUINT_TO_POINTER (pvm_kept_generation (self->kept)));
  g_task_run_in_thread (task, scan_thread);
}

static void
on_synced (PvmHypervisor *hv, GPtrArray *infos, PvmManager *self)
{
  scan_kept (self);
}

static void
on_kept_changed (PvmKept *kept, PvmManager *self)
{
  pvm_dbus_manager_set_kept_disks (PVM_DBUS_MANAGER (self), pvm_kept_to_variant (kept));
}

static void
pvm_manager_iface_init (PvmDBusManagerIface *iface)
{
  iface->handle_delete_kept_disk = handle_delete_kept_disk;
  iface->handle_create = handle_create;
  iface->handle_get_vm = handle_get_vm;
  iface->handle_get_quota = handle_get_quota;
}

static void
pvm_manager_finalize (GObject *object)
{
  PvmManager *self = PVM_MANAGER (object);

  g_clear_pointer (&self->creating, g_hash_table_unref);
  g_clear_pointer (&self->vms, g_hash_table_unref);
  g_signal_handlers_disconnect_by_data (self->hypervisor, self);
  g_signal_handlers_disconnect_by_data (self->kept, self);
  g_clear_object (&self->kept);
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
pvm_manager_new (const PvmConfig *config, PvmHypervisor *hypervisor, PvmKept *kept,
                 GHashTable *vms)
{
  PvmManager *self = g_object_new (PVM_TYPE_MANAGER, NULL);
  PvmDBusManager *iface = PVM_DBUS_MANAGER (self);
  g_auto(GStrv) images = pvm_config_image_names (config);

  self->config = config;
  self->hypervisor = g_object_ref (hypervisor);
  self->kept = g_object_ref (kept);
  self->vms = g_hash_table_ref (vms);
  pvm_dbus_manager_set_version (iface, PACKAGE_VERSION);
  pvm_dbus_manager_set_images (iface, (const char * const *) images);
  pvm_dbus_manager_set_default_image (iface, config->default_image);
  pvm_dbus_manager_set_default_memory_mib (iface, config->default_memory_mib);
  pvm_dbus_manager_set_default_cpus (iface, config->default_cpus);
  pvm_dbus_manager_set_default_disk_gib (iface, config->default_disk_gib);
  on_kept_changed (kept, self);
  g_signal_connect (kept, "changed", G_CALLBACK (on_kept_changed), self);
  g_signal_connect (hypervisor, "synced", G_CALLBACK (on_synced), self);
  return self;
}
