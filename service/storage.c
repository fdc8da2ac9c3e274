#include "storage.h"

#include <stdlib.h>
#include <string.h>
#include <libvirt/virterror.h>

#include "errors.h"
#include "gvir-autoptr.h"
#include "virt.h"

#define GIB (G_GUINT64_CONSTANT (1) << 30)

char *
pvm_volume_name (const char *vm_name, PvmVolumeKind kind)
{
  static const char *suffix[] = { "-root.qcow2", "-data.qcow2", "-seed.iso", "-console.log" };
  return g_strconcat ("project-", vm_name, suffix[kind], NULL);
}

/* libvirt-gconfig 4.0 writes <mode> in decimal while libvirt reads it as
 * octal: hand it the number whose decimal digits are the octal ones. */
static guint
octal_digits (guint mode)
{
  return (mode >> 6 & 7) * 100 + (mode >> 3 & 7) * 10 + (mode & 7);
}

/* Root-only: the seed holds the caller's keys and maybe a Tailscale key. */
static GVirConfigStoragePermissions *
root_only (guint mode)
{
  GVirConfigStoragePermissions *perms = gvir_config_storage_permissions_new ();

  gvir_config_storage_permissions_set_mode (perms, octal_digits (mode));
  gvir_config_storage_permissions_set_owner (perms, 0);
  gvir_config_storage_permissions_set_group (perms, 0);
  return perms;
}

static char *
pool_xml (const char *pool_name, const char *dir)
{
  g_autoptr(GVirConfigStoragePool) conf = gvir_config_storage_pool_new ();
  g_autoptr(GVirConfigStoragePoolTarget) target = gvir_config_storage_pool_target_new ();
  g_autoptr(GVirConfigStoragePermissions) perms = root_only (0711);

  gvir_config_storage_pool_set_pool_type (conf, GVIR_CONFIG_STORAGE_POOL_TYPE_DIR);
  gvir_config_storage_pool_set_name (conf, pool_name);
  gvir_config_storage_pool_target_set_path (target, dir);
  gvir_config_storage_pool_target_set_permissions (target, perms);
  gvir_config_storage_pool_set_target (conf, target);
  return gvir_config_object_to_xml (GVIR_CONFIG_OBJECT (conf));
}

virStoragePoolPtr
pvm_storage_ensure_pool (virConnectPtr conn, const char *pool_name, const char *dir,
                         GError **error)
{
  g_autoptr(virStoragePool) pool = virStoragePoolLookupByName (conn, pool_name);
  int active;

  if (pool == NULL)
    {
      g_autofree char *xml = NULL;

      if (virGetLastErrorCode () != VIR_ERR_NO_STORAGE_POOL)
        return pvm_set_libvirt_error (error, "looking up the storage pool"), NULL;
      xml = pool_xml (pool_name, dir);
      pool = virStoragePoolDefineXML (conn, xml, 0);
      if (pool == NULL)
        return pvm_set_libvirt_error (error, "defining the storage pool"), NULL;
      if (virStoragePoolBuild (pool, 0) < 0)
        {
          pvm_set_libvirt_error (error, "building the storage pool");
          virStoragePoolUndefine (pool);
          return NULL;
        }
      virStoragePoolSetAutostart (pool, 1);
    }
  active = virStoragePoolIsActive (pool);
  if (active == 0 && virStoragePoolCreate (pool, 0) < 0)
    active = -1;
  /* Files made or removed behind libvirt's back only show after a refresh. */
  if (active < 0 || virStoragePoolRefresh (pool, 0) < 0)
    return pvm_set_libvirt_error (error, "starting the storage pool"), NULL;
  return g_steal_pointer (&pool);
}

gboolean
pvm_storage_lookup (virStoragePoolPtr pool, const char *vol_name, virStorageVolPtr *vol,
                    GError **error)
{
  *vol = virStorageVolLookupByName (pool, vol_name);
  if (*vol == NULL && virGetLastErrorCode () != VIR_ERR_NO_STORAGE_VOL)
    return pvm_set_libvirt_error (error, "looking up a volume");
  return TRUE;
}

static virStorageVolPtr
create_volume (virStoragePoolPtr pool, GVirConfigStorageVol *conf, const char *what,
               GError **error)
{
  g_autofree char *xml = gvir_config_object_to_xml (GVIR_CONFIG_OBJECT (conf));
  virStorageVolPtr vol = virStorageVolCreateXML (pool, xml, 0);

  if (vol == NULL)
    pvm_set_libvirt_error (error, what);
  return vol;
}

static GVirConfigStorageVol *
volume_conf (const char *vol_name, guint64 capacity, const char *format,
             guint mode)
{
  GVirConfigStorageVol *conf = gvir_config_storage_vol_new ();
  g_autoptr(GVirConfigStorageVolTarget) target = gvir_config_storage_vol_target_new ();
  g_autoptr(GVirConfigStoragePermissions) perms = root_only (mode);

  gvir_config_storage_vol_set_name (conf, vol_name);
  gvir_config_storage_vol_set_capacity (conf, capacity);
  gvir_config_storage_vol_set_allocation (conf, 0);   /* sparse */
  gvir_config_storage_vol_target_set_format (target, format);
  gvir_config_storage_vol_target_set_permissions (target, perms);
  gvir_config_storage_vol_set_target (conf, target);
  return conf;
}

virStorageVolPtr
pvm_storage_create_overlay (virStoragePoolPtr pool, const char *vol_name,
                            const char *backing_path, GError **error)
{
  /* Capacity 0: qemu-img takes the base image's size. */
  g_autoptr(GVirConfigStorageVol) conf =
      volume_conf (vol_name, 0, "qcow2", 0600);
  g_autoptr(GVirConfigStorageVolBackingStore) backing =
      gvir_config_storage_vol_backing_store_new ();

  gvir_config_storage_vol_backing_store_set_path (backing, backing_path);
  gvir_config_storage_vol_backing_store_set_format (backing, "qcow2");
  gvir_config_storage_vol_set_backing_store (conf, backing);
  return create_volume (pool, conf, "creating the overlay over the base image", error);
}

virStorageVolPtr
pvm_storage_create_disk (virStoragePoolPtr pool, const char *vol_name, guint64 gib,
                         GError **error)
{
  g_autoptr(GVirConfigStorageVol) conf =
      volume_conf (vol_name, gib * GIB, "qcow2", 0600);
  return create_volume (pool, conf, "creating the project disk", error);
}

static gboolean
send_all (virStreamPtr stream, GBytes *content)
{
  gsize size;
  const char *data = g_bytes_get_data (content, &size);
  gsize sent = 0;

  while (sent < size)
    {
      int n = virStreamSend (stream, data + sent, MIN (size - sent, 256 * 1024));
      if (n < 0)
        return FALSE;
      sent += n;
    }
  return TRUE;
}

static gboolean
upload (virConnectPtr conn, virStorageVolPtr vol, GBytes *content, GError **error)
{
  g_autoptr(virStream) stream = virStreamNew (conn, 0);

  if (stream == NULL)
    return pvm_set_libvirt_error (error, "opening an upload stream");
  /* Only a finished stream means the bytes are on the libvirt host. */
  if (virStorageVolUpload (vol, stream, 0, g_bytes_get_size (content), 0) < 0 ||
      !send_all (stream, content) || virStreamFinish (stream) < 0)
    {
      pvm_set_libvirt_error (error, "uploading the seed ISO");
      virStreamAbort (stream);
      return FALSE;
    }
  return TRUE;
}

virStorageVolPtr
pvm_storage_create_from_bytes (virConnectPtr conn, virStoragePoolPtr pool,
                               const char *vol_name, GBytes *content, GError **error)
{
  g_autoptr(GVirConfigStorageVol) conf =
      volume_conf (vol_name, g_bytes_get_size (content),
                   "raw", 0600);
  g_autoptr(virStorageVol) vol = create_volume (pool, conf, "creating the seed volume", error);

  if (vol == NULL)
    return NULL;
  if (!upload (conn, vol, content, error))
    {
      virStorageVolDelete (vol, 0);
      return NULL;
    }
  return g_steal_pointer (&vol);
}

gboolean
pvm_storage_grow (virStorageVolPtr vol, guint64 gib, GError **error)
{
  virStorageVolInfo info;

  if (virStorageVolGetInfo (vol, &info) < 0)
    return pvm_set_libvirt_error (error, "reading the overlay's size"), FALSE;
  if (info.capacity >= gib * GIB)
    return TRUE;
  if (virStorageVolResize (vol, gib * GIB, 0) < 0)
    return pvm_set_libvirt_error (error, "growing the overlay"), FALSE;
  return TRUE;
}

gboolean
pvm_storage_delete (virStoragePoolPtr pool, const char *vol_name, GError **error)
{
  g_autoptr(virStorageVol) vol = NULL;
  g_autofree char *what = NULL;

  if (!pvm_storage_lookup (pool, vol_name, &vol, error))
    return FALSE;
  if (vol == NULL || virStorageVolDelete (vol, 0) == 0)
    return TRUE;
  what = g_strdup_printf ("deleting %s", vol_name);
  return pvm_set_libvirt_error (error, what);
}

/* "BASE.N" with N all digits. */
static gboolean
is_rotated (const char *name, const char *base)
{
  gsize len = strlen (base);
  const char *n = name + len + 1;

  if (strncmp (name, base, len) != 0 || name[len] != '.' || *n == '\0')
    return FALSE;
  for (; *n != '\0'; n++)
    if (!g_ascii_isdigit (*n))
      return FALSE;
  return TRUE;
}

gboolean
pvm_storage_delete_rotated (virStoragePoolPtr pool, const char *vol_name, GError **error)
{
  virStorageVolPtr *vols = NULL;
  int n = virStoragePoolListAllVolumes (pool, &vols, 0);
  gboolean ok = n >= 0;

  if (!ok)
    return pvm_set_libvirt_error (error, "listing the volumes");
  for (int i = 0; i < n; i++)
    {
      const char *name = virStorageVolGetName (vols[i]);
      if (ok && name != NULL && is_rotated (name, vol_name) &&
          virStorageVolDelete (vols[i], 0) < 0)
        ok = pvm_set_libvirt_error (error, "deleting a rotated console log");
      virStorageVolFree (vols[i]);
    }
  free (vols);
  return ok;
}

char *
pvm_storage_path (virStorageVolPtr vol, GError **error)
{
  char *path = virStorageVolGetPath (vol);

  if (path == NULL)
    pvm_set_libvirt_error (error, "reading a volume path");
  return path;
}
