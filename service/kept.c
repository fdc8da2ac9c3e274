#include "kept.h"

#include <errno.h>
#include <string.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"
#include "storage.h"
#include "validate.h"
#include "virt.h"

#define GIB (G_GUINT64_CONSTANT (1) << 30)
#define GROUP "kept"
#define KEPT_SUBDIR "kept"

PvmKeptDisk *
pvm_kept_disk_new (const char *name, guint32 owner, guint64 size_gib, guint64 kept_at)
{
  PvmKeptDisk *disk = g_new0 (PvmKeptDisk, 1);

  disk->name = g_strdup (name);
  disk->owner = owner;
  disk->size_gib = size_gib;
  disk->kept_at = kept_at;
  return disk;
}

void
pvm_kept_disk_free (PvmKeptDisk *disk)
{
  if (disk == NULL)
    return;
  g_free (disk->name);
  g_free (disk);
}

/* ---- records ---- */

static gboolean
io_error (GError **error, const char *what, const char *path, int errsv)
{
  g_set_error (error, PVM_ERROR, PVM_ERROR_FAILED, "%s %s: %s", what, path,
               g_strerror (errsv));
  return FALSE;
}

/* The records are worth what their directory is: refuse one that someone
 * other than the service could write into. */
static gboolean
check_dir (const char *dir, gboolean create, GError **error)
{
  struct stat st;

  if (create && g_mkdir_with_parents (dir, 0700) < 0)
    return io_error (error, "making the records directory", dir, errno);
  if (lstat (dir, &st) < 0)
    return io_error (error, "reading the records directory", dir, errno);
  if (!S_ISDIR (st.st_mode) || st.st_uid != geteuid () || (st.st_mode & 022) != 0)
    {
      g_set_error (error, PVM_ERROR, PVM_ERROR_FAILED,
                   "the records directory %s is not a directory only the service may write",
                   dir);
      return FALSE;
    }
  return TRUE;
}

gboolean
pvm_kept_record_write (const char *records_dir, const char *name, guint32 owner,
                       guint64 kept_at, GError **error)
{
  g_autofree char *dir = g_build_filename (records_dir, KEPT_SUBDIR, NULL);
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autofree char *data = NULL;
  g_autoptr(GError) local = NULL;
  gsize len;

  if (!check_dir (records_dir, TRUE, error) || !check_dir (dir, TRUE, error))
    return FALSE;
  g_key_file_set_uint64 (kf, GROUP, "owner", owner);
  g_key_file_set_uint64 (kf, GROUP, "kept-at", kept_at);
  data = g_key_file_to_data (kf, &len, NULL);
  /* Durable before the domain goes: a crash must not leave a disk whose
   * owner is forgotten (it would count as root's). */
  if (!g_file_set_contents_full (path, data, len,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                 0600, &local))
    {
      g_set_error (error, PVM_ERROR, PVM_ERROR_FAILED,
                   "recording the owner of the kept project disk: %s", local->message);
      return FALSE;
    }
  return TRUE;
}

gboolean
pvm_kept_record_read (const char *records_dir, const char *name, gboolean *found,
                      guint32 *owner, guint64 *kept_at, GError **error)
{
  g_autofree char *dir = g_build_filename (records_dir, KEPT_SUBDIR, NULL);
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(GError) local = NULL;
  guint64 uid;

  *found = FALSE;
  *owner = 0;
  *kept_at = 0;
  if (!g_file_test (dir, G_FILE_TEST_EXISTS))
    return TRUE;
  if (!check_dir (records_dir, FALSE, error) || !check_dir (dir, FALSE, error))
    return FALSE;
  if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, &local))
    {
      if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return TRUE;
      g_set_error (error, PVM_ERROR, PVM_ERROR_FAILED, "reading %s: %s", path,
                   local->message);
      return FALSE;
    }
  uid = g_key_file_get_uint64 (kf, GROUP, "owner", &local);
  if (local != NULL || uid >= G_MAXUINT32)
    {
      g_set_error (error, PVM_ERROR, PVM_ERROR_FAILED, "%s holds no valid owner", path);
      return FALSE;
    }
  *found = TRUE;
  *owner = (guint32) uid;
  *kept_at = g_key_file_get_uint64 (kf, GROUP, "kept-at", NULL);
  return TRUE;
}

gboolean
pvm_kept_record_remove (const char *records_dir, const char *name, GError **error)
{
  g_autofree char *path = g_build_filename (records_dir, KEPT_SUBDIR, name, NULL);

  if (g_unlink (path) < 0 && errno != ENOENT)
    return io_error (error, "removing", path, errno);
  return TRUE;
}

/* ---- kept disks in libvirt ---- */

gboolean
pvm_kept_lookup (virConnectPtr conn, virStoragePoolPtr pool, const char *records_dir,
                 const char *name, PvmKeptDisk **disk, GError **error)
{
  g_autofree char *vol_name = pvm_volume_name (name, PVM_VOLUME_DATA);
  g_autoptr(virDomain) dom = NULL;
  g_autoptr(virStorageVol) vol = NULL;
  virStorageVolInfo info;
  gboolean found;
  guint32 owner;
  guint64 kept_at;

  *disk = NULL;
  /* A project disk its VM still uses is no kept disk. */
  if (!pvm_lookup_domain (conn, name, &dom, error) ||
      !pvm_storage_lookup (pool, vol_name, &vol, error))
    return FALSE;
  if (dom != NULL || vol == NULL)
    return TRUE;
  if (virStorageVolGetInfo (vol, &info) < 0)
    return pvm_set_libvirt_error (error, "reading the kept disk's size");
  if (!pvm_kept_record_read (records_dir, name, &found, &owner, &kept_at, error))
    return FALSE;
  *disk = pvm_kept_disk_new (name, owner, MAX (1, info.capacity / GIB), kept_at);
  return TRUE;
}

/* "project-NAME-data.qcow2" -> NAME, or NULL. */
static char *
name_of_data_volume (const char *vol_name)
{
  g_autofree char *probe = NULL;
  g_autofree char *name = NULL;
  gsize len = strlen (vol_name);
  const gsize prefix = strlen ("project-"), suffix = strlen ("-data.qcow2");

  if (!g_str_has_prefix (vol_name, "project-") || !g_str_has_suffix (vol_name, "-data.qcow2") ||
      len <= prefix + suffix)
    return NULL;
  name = g_strndup (vol_name + prefix, len - prefix - suffix);
  if (!pvm_validate_name (name, NULL))
    return NULL;
  probe = pvm_volume_name (name, PVM_VOLUME_DATA);
  return g_str_equal (probe, vol_name) ? g_steal_pointer (&name) : NULL;
}

GPtrArray *
pvm_kept_scan (virConnectPtr conn, virStoragePoolPtr pool, const char *records_dir,
               GError **error)
{
  g_autoptr(GPtrArray) disks = g_ptr_array_new_with_free_func ((GDestroyNotify) pvm_kept_disk_free);
  virStorageVolPtr *vols = NULL;
  int n = virStoragePoolListAllVolumes (pool, &vols, 0);
  gboolean ok = n >= 0;

  if (!ok)
    pvm_set_libvirt_error (error, "listing the pool's volumes");
  for (int i = 0; i < MAX (n, 0); i++)
    {
      g_autofree char *name = name_of_data_volume (virStorageVolGetName (vols[i]));
      PvmKeptDisk *disk = NULL;

      if (ok && name != NULL)
        ok = pvm_kept_lookup (conn, pool, records_dir, name, &disk, error);
      if (disk != NULL)
        g_ptr_array_add (disks, disk);
      virStorageVolFree (vols[i]);
    }
  g_free (vols);
  return ok ? g_steal_pointer (&disks) : NULL;
}

/* ---- the table ---- */

struct _PvmKept {
  GObject parent;
  GHashTable *disks;      /* name -> PvmKeptDisk */
  guint generation;
};

G_DEFINE_TYPE (PvmKept, pvm_kept, G_TYPE_OBJECT)

enum { SIG_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void
changed (PvmKept *self)
{
  self->generation++;
  g_signal_emit (self, signals[SIG_CHANGED], 0);
}

void
pvm_kept_add (PvmKept *self, PvmKeptDisk *disk)
{
  g_hash_table_replace (self->disks, disk->name, disk);
  changed (self);
}

void
pvm_kept_remove (PvmKept *self, const char *name)
{
  if (g_hash_table_remove (self->disks, name))
    changed (self);
}

const PvmKeptDisk *
pvm_kept_get (PvmKept *self, const char *name)
{
  return g_hash_table_lookup (self->disks, name);
}

guint
pvm_kept_generation (PvmKept *self)
{
  return self->generation;
}

void
pvm_kept_replace (PvmKept *self, GPtrArray *disks)
{
  g_hash_table_remove_all (self->disks);
  for (guint i = 0; i < disks->len; i++)
    {
      PvmKeptDisk *disk = g_ptr_array_index (disks, i);
      g_hash_table_replace (self->disks, disk->name, disk);
    }
  /* The table owns them now. */
  g_ptr_array_set_free_func (disks, NULL);
  g_ptr_array_unref (disks);
  changed (self);
}

static int
by_name (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (((const PvmKeptDisk *) a)->name, ((const PvmKeptDisk *) b)->name);
}

GVariant *
pvm_kept_to_variant (PvmKept *self)
{
  g_autoptr(GList) sorted = g_list_sort (g_hash_table_get_values (self->disks), by_name);
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE ("a(sutt)"));
  for (GList *l = sorted; l != NULL; l = l->next)
    {
      const PvmKeptDisk *d = l->data;
      g_variant_builder_add (&b, "(sutt)", d->name, d->owner, d->size_gib, d->kept_at);
    }
  return g_variant_builder_end (&b);
}

static void
pvm_kept_finalize (GObject *object)
{
  g_clear_pointer (&PVM_KEPT (object)->disks, g_hash_table_unref);
  G_OBJECT_CLASS (pvm_kept_parent_class)->finalize (object);
}

static void
pvm_kept_class_init (PvmKeptClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pvm_kept_finalize;
  signals[SIG_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
pvm_kept_init (PvmKept *self)
{
  self->disks = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                       (GDestroyNotify) pvm_kept_disk_free);
}

PvmKept *
pvm_kept_new (void)
{
  return g_object_new (PVM_TYPE_KEPT, NULL);
}
