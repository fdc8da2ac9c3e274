/* A VM's files, through libvirt's storage API so that they live wherever
 * the configured libvirt keeps its pool: the overlay over the base image,
 * the project disk, the seed ISO and the console log. Worker threads only. */
#pragma once

#include <gio/gio.h>
#include <libvirt/libvirt.h>

G_BEGIN_DECLS

typedef enum {
  PVM_VOLUME_ROOT,      /* qcow2 overlay over the base image */
  PVM_VOLUME_DATA,      /* the project disk, kept by destroy --keep-data */
  PVM_VOLUME_SEED,      /* cloud-init NoCloud ISO */
  PVM_VOLUME_CONSOLE,   /* serial console log written by virtlogd */
} PvmVolumeKind;

/* "project-NAME-root.qcow2", "-data.qcow2", "-seed.iso", "-console.log". */
char *pvm_volume_name (const char *vm_name, PvmVolumeKind kind);

/* The pool, defined (dir at DIR), built, started and refreshed as needed. */
virStoragePoolPtr pvm_storage_ensure_pool (virConnectPtr conn, const char *pool_name,
                                           const char *dir, GError **error);

/* TRUE with *VOL NULL: there is no such volume; FALSE: the lookup failed. */
gboolean pvm_storage_lookup (virStoragePoolPtr pool, const char *vol_name,
                             virStorageVolPtr *vol, GError **error);

virStorageVolPtr pvm_storage_create_overlay (virStoragePoolPtr pool, const char *vol_name,
                                             const char *backing_path, GError **error);
virStorageVolPtr pvm_storage_create_disk (virStoragePoolPtr pool, const char *vol_name,
                                          guint64 gib, GError **error);
/* A root-only raw volume holding CONTENT; fails unless the upload finished. */
virStorageVolPtr pvm_storage_create_from_bytes (virConnectPtr conn, virStoragePoolPtr pool,
                                                const char *vol_name, GBytes *content,
                                                GError **error);

/* Resizes VOL to GIB unless it is that big already. */
gboolean pvm_storage_grow (virStorageVolPtr vol, guint64 gib, GError **error);

/* Deletes the volume if it exists. */
gboolean pvm_storage_delete (virStoragePoolPtr pool, const char *vol_name, GError **error);

/* Deletes the rotated copies of VOL_NAME: "VOL_NAME.0", ".1", ... (virtlogd
 * rotates the console log that way, max_backups of them). */
gboolean pvm_storage_delete_rotated (virStoragePoolPtr pool, const char *vol_name,
                                     GError **error);

/* The volume's path on the libvirt host, or NULL. */
char *pvm_storage_path (virStorageVolPtr vol, GError **error);

G_END_DECLS
