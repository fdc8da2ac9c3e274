#include "create.h"

#include <libvirt/virterror.h>

#include "domain.h"
#include "errors.h"
#include "options.h"
#include "seed.h"
#include "storage.h"
#include "validate.h"

#define GIB (G_GUINT64_CONSTANT (1) << 30)

void
pvm_create_request_free (PvmCreateRequest *req)
{
  if (req == NULL)
    return;
  g_free (req->name);
  g_free (req->image);
  g_strfreev (req->ssh_keys);
  g_free (req);
}

static gboolean
validate_keys (char **keys, GError **error)
{
  guint n = keys ? g_strv_length (keys) : 0;

  if (n > PVM_SSH_KEYS_MAX)
    {
      g_set_error (error, PVM_ERROR, PVM_ERROR_INVALID_ARGUMENT,
                   "too many ssh keys (%u, at most %d)", n, PVM_SSH_KEYS_MAX);
      return FALSE;
    }
  for (guint i = 0; i < n; i++)
    if (!pvm_validate_ssh_key (keys[i], error))
      return FALSE;
  return TRUE;
}

static gboolean
validate_root_gib (guint64 gib, GError **error)
{
  if (gib >= PVM_DISK_GIB_MIN && gib <= PVM_DISK_GIB_MAX)
    return TRUE;
  g_set_error (error, PVM_ERROR, PVM_ERROR_INVALID_ARGUMENT,
               "root-gib %" G_GUINT64_FORMAT " is out of range (%d GiB to %d TiB)",
               gib, PVM_DISK_GIB_MIN, PVM_DISK_GIB_MAX / 1024);
  return FALSE;
}

PvmCreateRequest *
pvm_create_request_parse (const PvmConfig *config, const char *name, GVariant *options,
                          GError **error)
{
  g_autoptr(PvmCreateRequest) req = g_new0 (PvmCreateRequest, 1);
  const PvmOptionSpec specs[] = {
    { "memory-mib", "t", &req->memory_mib },
    { "cpus", "u", &req->cpus },
    { "disk-gib", "t", &req->disk_gib },
    { "root-gib", "t", &req->root_gib },
    { "image", "s", &req->image },
    { "ssh-keys", "as", &req->ssh_keys },
    { "start", "b", &req->start },
    { NULL }
  };

  req->memory_mib = config->default_memory_mib;
  req->cpus = config->default_cpus;
  req->disk_gib = config->default_disk_gib;
  req->root_gib = config->default_root_gib;
  if (!pvm_validate_name (name, error) ||
      !pvm_options_parse (options, specs, error) ||
      !pvm_validate_memory_mib (req->memory_mib, error) ||
      !pvm_validate_cpus (req->cpus, error) ||
      !pvm_validate_disk_gib (req->disk_gib, error) ||
      !validate_root_gib (req->root_gib, error) ||
      !validate_keys (req->ssh_keys, error))
    return NULL;
  if (req->image == NULL)
    req->image = g_strdup (config->default_image);
  if (pvm_config_find_image (config, req->image) == NULL)
    {
      g_autofree char *quoted = pvm_quote_value (req->image);
      g_auto(GStrv) names = pvm_config_image_names (config);
      g_autofree char *known = g_strjoinv (", ", names);
      g_set_error (error, PVM_ERROR, PVM_ERROR_INVALID_ARGUMENT,
                   "unknown image %s (configured: %s)", quoted, known);
      return NULL;
    }
  req->name = g_strdup (name);
  return g_steal_pointer (&req);
}

/* ---- the worker ---- */

typedef struct {
  PvmCreateRequest *req;
  const PvmConfig *config;     /* owned by the daemon, read-only */
  PvmHypervisor *hypervisor;
} CreateJob;

/* What has been made so far, so that a failure can take it back. */
typedef struct {
  virConnectPtr conn;
  virStoragePoolPtr pool;
  virDomainPtr domain;
  GPtrArray *made_volumes;     /* names */
} Made;

/* A test hook: PVM_TEST_FAIL_STEP=data|root|seed|define|start makes that
 * step fail, so the tests can prove the rollback of each one. */
static gboolean
injected_failure (const char *step, GError **error)
{
  const char *fail = g_getenv ("PVM_TEST_FAIL_STEP");

  if (fail == NULL || !g_str_equal (fail, step))
    return FALSE;
  g_set_error (error, PVM_ERROR, PVM_ERROR_FAILED, "injected failure at step %s", step);
  return TRUE;
}

static void
rollback (Made *made)
{
  if (made->domain != NULL)
    {
      virDomainDestroy (made->domain);
      virDomainUndefineFlags (made->domain, VIR_DOMAIN_UNDEFINE_NVRAM);
    }
  for (guint i = 0; made->pool && i < made->made_volumes->len; i++)
    {
      g_autoptr(GError) error = NULL;
      if (!pvm_storage_delete (made->pool, g_ptr_array_index (made->made_volumes, i), &error))
        g_warning ("rollback: %s", error->message);
    }
}

static void
made_clear (Made *made)
{
  g_clear_pointer (&made->domain, virDomainFree);
  g_clear_pointer (&made->pool, virStoragePoolFree);
  g_clear_pointer (&made->conn, virConnectClose);
  g_clear_pointer (&made->made_volumes, g_ptr_array_unref);
}

static gboolean
use_kvm (virConnectPtr conn, PvmDomainType type)
{
  char *caps;

  if (type != PVM_DOMAIN_TYPE_AUTO)
    return type == PVM_DOMAIN_TYPE_KVM;
  caps = virConnectGetDomainCapabilities (conn, NULL, "x86_64", "pc", "kvm", 0);
  free (caps);
  return caps != NULL;
}

static char *
read_tailscale_key (const PvmConfig *config, GError **error)
{
  g_autofree char *key = NULL;

  if (config->tailscale_authkey_file == NULL)
    return NULL;
  if (!g_file_get_contents (config->tailscale_authkey_file, &key, NULL, error))
    return NULL;
  return g_strdup (g_strstrip (key));
}

static gboolean
check_name_free (virConnectPtr conn, const char *name, GError **error)
{
  g_autofree char *domain_name = g_strconcat (PVM_DOMAIN_PREFIX, name, NULL);
  virDomainPtr dom = virDomainLookupByName (conn, domain_name);

  if (dom != NULL)
    {
      virDomainFree (dom);
      g_set_error (error, PVM_ERROR, PVM_ERROR_EXISTS,
                   "a VM named \"%s\" already exists (libvirt domain %s)", name, domain_name);
      return FALSE;
    }
  if (virGetLastErrorCode () != VIR_ERR_NO_DOMAIN)
    return pvm_set_libvirt_error (error, "looking up the domain"), FALSE;
  return TRUE;
}

/* The project disk: the one kept by destroy --keep-data, or a new one. */
static virStorageVolPtr
project_disk (Made *made, PvmCreateRequest *req, GError **error)
{
  g_autofree char *vol_name = pvm_volume_name (req->name, PVM_VOLUME_DATA);
  virStorageVolPtr vol = pvm_storage_lookup (made->pool, vol_name, error);
  virStorageVolInfo info;

  if (vol != NULL)
    {
      if (virStorageVolGetInfo (vol, &info) == 0)
        req->disk_gib = MAX (1, info.capacity / GIB);
      g_message ("%s: attaching the kept project disk %s", req->name, vol_name);
      return vol;
    }
  if ((error && *error) || injected_failure ("data", error))
    return NULL;
  vol = pvm_storage_create_disk (made->pool, vol_name, req->disk_gib, error);
  if (vol != NULL)
    g_ptr_array_add (made->made_volumes, g_steal_pointer (&vol_name));
  return vol;
}

static virStorageVolPtr
overlay (Made *made, const PvmCreateRequest *req, const PvmImage *image, GError **error)
{
  g_autofree char *vol_name = pvm_volume_name (req->name, PVM_VOLUME_ROOT);
  virStorageVolPtr vol;

  if (injected_failure ("root", error))
    return NULL;
  vol = pvm_storage_create_overlay (made->pool, vol_name, image->path, error);
  if (vol == NULL)
    return NULL;
  g_ptr_array_add (made->made_volumes, g_steal_pointer (&vol_name));
  /* Cloud images are small; the guest grows its root filesystem to the
   * disk at first boot (cloud-init's growpart/resizefs). */
  if (!pvm_storage_grow (vol, req->root_gib, error))
    {
      virStorageVolFree (vol);
      return NULL;
    }
  return vol;
}

static virStorageVolPtr
seed (Made *made, const PvmCreateRequest *req, GBytes *iso, GError **error)
{
  g_autofree char *vol_name = pvm_volume_name (req->name, PVM_VOLUME_SEED);
  virStorageVolPtr vol;

  if (injected_failure ("seed", error))
    return NULL;
  /* Creating marks it made: a failed upload deletes it there already. */
  vol = pvm_storage_create_from_bytes (made->conn, made->pool, vol_name, iso, error);
  if (vol != NULL)
    g_ptr_array_add (made->made_volumes, g_steal_pointer (&vol_name));
  return vol;
}

static gboolean
define (Made *made, PvmDomainParams *params, GError **error)
{
  g_autofree char *xml = NULL;

  if (injected_failure ("define", error))
    return FALSE;
  xml = pvm_domain_build_xml (params);
  g_debug ("defining %s", xml);
  made->domain = virDomainDefineXML (made->conn, xml);
  if (made->domain == NULL)
    return pvm_set_libvirt_error (error, "defining the domain"), FALSE;
  return TRUE;
}

static PvmDomainInfo *
create_vm (CreateJob *job, Made *made, GError **error)
{
  PvmCreateRequest *req = job->req;
  const PvmImage *image = pvm_config_find_image (job->config, req->image);
  g_autofree char *instance_id = g_uuid_string_random ();
  g_autofree char *tailscale_key = NULL;
  g_autoptr(GBytes) iso = NULL;
  g_autoptr(GError) local = NULL;
  virStorageVolPtr vols[3] = { NULL };
  char *paths[3] = { NULL };   /* libvirt's strings: free() */
  g_autofree char *dir = NULL;
  g_autofree char *console_log = NULL;
  PvmMetadata meta = { 0 };
  PvmDomainParams params = { 0 };
  PvmDomainInfo *info = NULL;

  made->conn = pvm_hypervisor_dup_connection (job->hypervisor, error);
  if (made->conn == NULL || !check_name_free (made->conn, req->name, error))
    return NULL;
  if (job->config->tailscale_authkey_file != NULL)
    {
      tailscale_key = read_tailscale_key (job->config, &local);
      if (tailscale_key == NULL)
        {
          g_set_error (error, PVM_ERROR, PVM_ERROR_FAILED,
                       "reading the Tailscale auth key: %s", local->message);
          return NULL;
        }
    }
  {
    PvmSeedParams seed_params = { req->name, instance_id, job->config->ssh_user,
                                  (const char * const *) req->ssh_keys, tailscale_key };
    iso = pvm_seed_build_iso (&seed_params, error);
    if (iso == NULL)
      return NULL;
  }
  made->pool = pvm_storage_ensure_pool (made->conn, job->config->pool,
                                        job->config->storage_dir, error);
  if (made->pool == NULL)
    return NULL;

  if ((vols[1] = project_disk (made, req, error)) == NULL ||
      (vols[0] = overlay (made, req, image, error)) == NULL ||
      (vols[2] = seed (made, req, iso, error)) == NULL)
    goto out;
  for (int i = 0; i < 3; i++)
    if ((paths[i] = pvm_storage_path (vols[i], error)) == NULL)
      goto out;
  dir = g_path_get_dirname (paths[0]);
  {
    g_autofree char *log_name = pvm_volume_name (req->name, PVM_VOLUME_CONSOLE);
    console_log = g_build_filename (dir, log_name, NULL);
  }

  meta.owner = req->owner;
  meta.image = req->image;
  meta.disk_gib = req->disk_gib;
  meta.created_at = (guint64) g_get_real_time () / G_USEC_PER_SEC;
  meta.instance_id = instance_id;
  params = (PvmDomainParams) {
    req->name, use_kvm (made->conn, job->config->domain_type), req->memory_mib,
    req->cpus, image, paths[0], paths[1], paths[2], console_log,
    job->config->network, job->config->isolate_guests, &meta
  };
  if (!define (made, &params, error))
    goto out;
  if (req->start && (injected_failure ("start", error) || virDomainCreate (made->domain) < 0))
    {
      if (error != NULL && *error == NULL)
        pvm_set_libvirt_error (error, "starting the new VM");
      goto out;
    }
  info = pvm_domain_info_read (made->domain, error);

out:
  for (int i = 0; i < 3; i++)
    {
      if (vols[i] != NULL)
        virStorageVolFree (vols[i]);
      free (paths[i]);
    }
  return info;
}

static void
create_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  CreateJob *job = data;
  Made made = { .made_volumes = g_ptr_array_new_with_free_func (g_free) };
  GError *error = NULL;
  PvmDomainInfo *info = create_vm (job, &made, &error);

  if (info == NULL)
    {
      if (error == NULL)
        g_set_error (&error, PVM_ERROR, PVM_ERROR_FAILED, "the new domain vanished");
      rollback (&made);
      g_task_return_error (task, error);
    }
  else
    g_task_return_pointer (task, info, (GDestroyNotify) pvm_domain_info_free);
  made_clear (&made);
}

static void
create_job_free (CreateJob *job)
{
  pvm_create_request_free (job->req);
  g_object_unref (job->hypervisor);
  g_free (job);
}

void
pvm_create_run_async (PvmDaemon *daemon, PvmCreateRequest *req,
                      GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr(GTask) task = g_task_new (daemon, NULL, callback, user_data);
  CreateJob *job = g_new0 (CreateJob, 1);

  job->req = req;
  job->config = pvm_daemon_get_config (daemon);
  job->hypervisor = g_object_ref (pvm_daemon_get_hypervisor (daemon));
  g_task_set_task_data (task, job, (GDestroyNotify) create_job_free);
  g_task_run_in_thread (task, create_thread);
}

PvmDomainInfo *
pvm_create_run_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- Destroy ---- */

static gboolean
delete_volumes (virStoragePoolPtr pool, const char *name, gboolean keep_data,
                GError **error)
{
  PvmVolumeKind kinds[] = { PVM_VOLUME_ROOT, PVM_VOLUME_SEED, PVM_VOLUME_CONSOLE,
                            PVM_VOLUME_DATA };
  guint n = keep_data ? 3 : 4;

  /* The console log is written by virtlogd behind the pool's back. */
  virStoragePoolRefresh (pool, 0);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *vol_name = pvm_volume_name (name, kinds[i]);
      if (!pvm_storage_delete (pool, vol_name, error))
        return FALSE;
    }
  return TRUE;
}

gboolean
pvm_destroy_sync (PvmDaemon *daemon, const char *name, gboolean keep_data, GError **error)
{
  const PvmConfig *config = pvm_daemon_get_config (daemon);
  virConnectPtr conn = pvm_hypervisor_dup_connection (pvm_daemon_get_hypervisor (daemon), error);
  g_autofree char *domain_name = g_strconcat (PVM_DOMAIN_PREFIX, name, NULL);
  virDomainPtr dom = NULL;
  virStoragePoolPtr pool = NULL;
  gboolean ok = FALSE;

  if (conn == NULL)
    return FALSE;
  dom = virDomainLookupByName (conn, domain_name);
  if (dom == NULL)
    {
      g_set_error (error, PVM_ERROR, PVM_ERROR_NOT_FOUND,
                   "there is no project VM named \"%s\"", name);
      goto out;
    }
  if (virDomainIsActive (dom) == 1 && virDomainDestroy (dom) < 0)
    {
      pvm_set_libvirt_error (error, "powering the VM off");
      goto out;
    }
  if (virDomainUndefineFlags (dom, VIR_DOMAIN_UNDEFINE_NVRAM) < 0)
    {
      pvm_set_libvirt_error (error, "undefining the domain");
      goto out;
    }
  pool = pvm_storage_ensure_pool (conn, config->pool, config->storage_dir, error);
  ok = pool != NULL && delete_volumes (pool, name, keep_data, error);

out:
  if (pool != NULL)
    virStoragePoolFree (pool);
  if (dom != NULL)
    virDomainFree (dom);
  virConnectClose (conn);
  return ok;
}
