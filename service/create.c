#include "create.h"

#include <libvirt/virterror.h>

#include "domain.h"
#include "errors.h"
#include "kept.h"
#include "options.h"
#include "seed.h"
#include "storage.h"
#include "validate.h"
#include "virt.h"

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
  gboolean reattached;         /* the project disk is a kept one */
} Made;

static void
made_clear (Made *made)
{
  g_clear_pointer (&made->domain, virDomainFree);
  g_clear_pointer (&made->pool, virStoragePoolFree);
  g_clear_pointer (&made->conn, virConnectClose);
  g_clear_pointer (&made->made_volumes, g_ptr_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Made, made_clear)

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

/* A test hook: PVM_TEST_PAUSE_CREATE=PATH holds each Create's worker, before
 * it makes anything, for as long as PATH exists (at most a minute), so the
 * tests can call while a Create is in flight. */
static void
injected_pause (const char *name)
{
  const char *path = g_getenv ("PVM_TEST_PAUSE_CREATE");

  if (path == NULL || !g_file_test (path, G_FILE_TEST_EXISTS))
    return;
  g_message ("%s: Create paused by PVM_TEST_PAUSE_CREATE", name);
  for (guint i = 0; i < 1200 && g_file_test (path, G_FILE_TEST_EXISTS); i++)
    g_usleep (50 * 1000);
  g_message ("%s: Create resumed", name);
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

static gboolean
use_kvm (virConnectPtr conn, PvmDomainType type)
{
  g_autofree char *caps = NULL;

  if (type != PVM_DOMAIN_TYPE_AUTO)
    return type == PVM_DOMAIN_TYPE_KVM;
  caps = virConnectGetDomainCapabilities (conn, NULL, "x86_64", "pc", "kvm", 0);
  return caps != NULL;
}

static gboolean
read_tailscale_key (const PvmConfig *config, char **key, GError **error)
{
  g_autofree char *raw = NULL;
  g_autoptr(GError) local = NULL;

  *key = NULL;
  if (config->tailscale_authkey_file == NULL)
    return TRUE;
  if (!g_file_get_contents (config->tailscale_authkey_file, &raw, NULL, &local))
    {
      g_set_error (error, PVM_ERROR, PVM_ERROR_FAILED,
                   "reading the Tailscale auth key: %s", local->message);
      return FALSE;
    }
  *key = g_strdup (g_strstrip (raw));
  return TRUE;
}

static gboolean
check_name_free (virConnectPtr conn, const char *name, GError **error)
{
  g_autoptr(virDomain) dom = NULL;

  if (!pvm_lookup_domain (conn, name, &dom, error))
    return FALSE;
  if (dom == NULL)
    return TRUE;
  g_set_error (error, PVM_ERROR, PVM_ERROR_EXISTS,
               "a VM named \"%s\" already exists (libvirt domain %s)", name,
               virDomainGetName (dom));
  return FALSE;
}

/* A kept disk goes only to its owner: nobody, root included, is handed
 * another user's data by a Create. No record: root's (kept before owners
 * were recorded). */
static gboolean
check_kept_owner (const CreateJob *job, const char *vol_name, GError **error)
{
  const char *name = job->req->name;
  gboolean found;
  guint32 owner;
  guint64 kept_at;

  if (!pvm_kept_record_read (job->config->records_dir, name, &found, &owner, &kept_at, error))
    return FALSE;
  if (owner == job->req->owner)
    return TRUE;
  g_message ("%s: refused the kept project disk %s of uid %u to uid %u", name, vol_name,
             owner, job->req->owner);
  g_set_error (error, PVM_ERROR, PVM_ERROR_EXISTS,
               "another user's kept project disk holds the name \"%s\": pick another "
               "name, or ask them or an admin to delete it with "
               "\"project-vm disk delete %s\"", name, name);
  return FALSE;
}

/* The project disk: the one kept by destroy --keep-data, or a new one. */
static virStorageVolPtr
project_disk (Made *made, const CreateJob *job, GError **error)
{
  PvmCreateRequest *req = job->req;
  g_autofree char *vol_name = pvm_volume_name (req->name, PVM_VOLUME_DATA);
  virStorageVolPtr vol;
  virStorageVolInfo info;

  if (!pvm_storage_lookup (made->pool, vol_name, &vol, error))
    return NULL;
  if (vol != NULL)
    {
      if (!check_kept_owner (job, vol_name, error))
        return virStorageVolFree (vol), NULL;
      if (virStorageVolGetInfo (vol, &info) == 0)
        req->disk_gib = MAX (1, info.capacity / GIB);
      g_message ("%s: attaching the kept project disk %s", req->name, vol_name);
      made->reattached = TRUE;
      return vol;
    }
  if (injected_failure ("data", error))
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
  g_autoptr(virStorageVol) vol = NULL;

  if (injected_failure ("root", error))
    return NULL;
  vol = pvm_storage_create_overlay (made->pool, vol_name, image->path, error);
  if (vol == NULL)
    return NULL;
  g_ptr_array_add (made->made_volumes, g_steal_pointer (&vol_name));
  /* Cloud images are small; the guest grows its root filesystem to the
   * disk at first boot (cloud-init's growpart/resizefs). */
  if (!pvm_storage_grow (vol, req->root_gib, error))
    return NULL;
  return g_steal_pointer (&vol);
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
    return pvm_set_libvirt_error (error, "defining the domain");
  return TRUE;
}

static gboolean
start_if_asked (Made *made, const PvmCreateRequest *req, GError **error)
{
  if (!req->start)
    return TRUE;
  if (injected_failure ("start", error))
    return FALSE;
  if (virDomainCreate (made->domain) < 0)
    return pvm_set_libvirt_error (error, "starting the new VM");
  return TRUE;
}

/* The disk is the VM's again; a record left behind harms nothing (the
 * next keep rewrites it), so a failure here does not undo the Create. */
static void
forget_kept (const CreateJob *job)
{
  g_autoptr(GError) error = NULL;

  if (!pvm_kept_record_remove (job->config->records_dir, job->req->name, &error))
    g_warning ("%s: %s", job->req->name, error->message);
}

static GBytes *
build_seed (const CreateJob *job, const char *instance_id, GError **error)
{
  g_autofree char *tailscale_key = NULL;
  PvmSeedParams params = { job->req->name, instance_id, job->config->ssh_user,
                           (const char * const *) job->req->ssh_keys, NULL };

  if (!read_tailscale_key (job->config, &tailscale_key, error))
    return NULL;
  params.tailscale_authkey = tailscale_key;
  return pvm_seed_build_iso (&params, error);
}

/* The three volumes of a new VM and their paths on the libvirt host. */
typedef struct {
  char *root;
  char *data;
  char *seed;
} Paths;

static void
paths_clear (Paths *paths)
{
  g_free (paths->root);
  g_free (paths->data);
  g_free (paths->seed);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Paths, paths_clear)

static gboolean
make_volumes (Made *made, const CreateJob *job, const PvmImage *image, GBytes *iso,
              Paths *paths, GError **error)
{
  PvmCreateRequest *req = job->req;
  g_autoptr(virStorageVol) data = NULL;
  g_autoptr(virStorageVol) root = NULL;
  g_autoptr(virStorageVol) seed_vol = NULL;

  return (data = project_disk (made, job, error)) != NULL &&
         (root = overlay (made, req, image, error)) != NULL &&
         (seed_vol = seed (made, req, iso, error)) != NULL &&
         (paths->root = pvm_storage_path (root, error)) != NULL &&
         (paths->data = pvm_storage_path (data, error)) != NULL &&
         (paths->seed = pvm_storage_path (seed_vol, error)) != NULL;
}

static PvmDomainInfo *
create_vm (CreateJob *job, Made *made, GError **error)
{
  PvmCreateRequest *req = job->req;
  const PvmImage *image = pvm_config_find_image (job->config, req->image);
  g_autofree char *instance_id = g_uuid_string_random ();
  g_autoptr(GBytes) iso = NULL;
  g_auto(Paths) paths = { 0 };
  g_autofree char *dir = NULL;
  g_autofree char *log_name = pvm_volume_name (req->name, PVM_VOLUME_CONSOLE);
  g_autofree char *console_log = NULL;
  PvmMetadata meta = { 0 };
  PvmDomainParams params = { 0 };
  PvmDomainInfo *info = NULL;

  made->conn = pvm_hypervisor_dup_connection (job->hypervisor, error);
  if (made->conn == NULL || !check_name_free (made->conn, req->name, error))
    return NULL;
  iso = build_seed (job, instance_id, error);
  if (iso == NULL)
    return NULL;
  made->pool = pvm_storage_ensure_pool (made->conn, job->config->pool,
                                        job->config->storage_dir, error);
  if (made->pool == NULL || !make_volumes (made, job, image, iso, &paths, error))
    return NULL;
  dir = g_path_get_dirname (paths.root);
  console_log = g_build_filename (dir, log_name, NULL);

  meta.owner = req->owner;
  meta.image = req->image;
  meta.disk_gib = req->disk_gib;
  meta.root_gib = req->root_gib;
  meta.created_at = (guint64) g_get_real_time () / G_USEC_PER_SEC;
  meta.instance_id = instance_id;
  params = (PvmDomainParams) {
    req->name, use_kvm (made->conn, job->config->domain_type), req->memory_mib,
    req->cpus, image, paths.root, paths.data, paths.seed, console_log,
    job->config->network, job->config->isolate_guests, &meta
  };
  if (!define (made, &params, error) || !start_if_asked (made, req, error) ||
      !pvm_domain_info_read (made->domain, &info, error))
    return NULL;
  if (info == NULL)
    g_set_error (error, PVM_ERROR, PVM_ERROR_FAILED, "the new domain vanished");
  else if (made->reattached)
    forget_kept (job);
  return info;
}

static void
create_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  CreateJob *job = data;
  g_auto(Made) made = { .made_volumes = g_ptr_array_new_with_free_func (g_free) };
  GError *error = NULL;
  PvmDomainInfo *info;

  injected_pause (job->req->name);
  info = create_vm (job, &made, &error);

  if (info == NULL)
    {
      rollback (&made);
      g_task_return_error (task, error);
    }
  else
    g_task_return_pointer (task, info, (GDestroyNotify) pvm_domain_info_free);
}

static void
create_job_free (CreateJob *job)
{
  pvm_create_request_free (job->req);
  g_object_unref (job->hypervisor);
  g_free (job);
}

void
pvm_create_run_async (const PvmConfig *config, PvmHypervisor *hypervisor,
                      PvmCreateRequest *req, GAsyncReadyCallback callback,
                      gpointer user_data)
{
  g_autoptr(GTask) task = g_task_new (hypervisor, NULL, callback, user_data);
  CreateJob *job = g_new0 (CreateJob, 1);

  job->req = req;
  job->config = config;
  job->hypervisor = g_object_ref (hypervisor);
  g_task_set_task_data (task, job, (GDestroyNotify) create_job_free);
  g_task_run_in_thread (task, create_thread);
}

PvmDomainInfo *
pvm_create_run_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}
