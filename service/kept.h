/* Kept project disks (Destroy with keep-data) and whose they are.
 *
 * The owner is recorded in a root-only file per disk, RECORDS_DIR/kept/NAME,
 * written by the service alone: libvirt volumes carry no metadata of ours
 * and cannot be renamed, and the records dir lies outside the pool's
 * directory, which lists every file in it as a volume. A disk with no
 * record (kept before owners were recorded) counts as root's.
 *
 * The record functions and pvm_kept_scan run on worker threads; PvmKept,
 * the table behind Manager.KeptDisks, lives on the main loop. */
#pragma once

#include <gio/gio.h>
#include <libvirt/libvirt.h>

G_BEGIN_DECLS

typedef struct {
  char *name;           /* the VM name */
  guint32 owner;        /* uid; 0 for a disk with no record */
  guint64 size_gib;
  guint64 kept_at;      /* unix seconds; 0 when unknown */
} PvmKeptDisk;

PvmKeptDisk *pvm_kept_disk_new (const char *name, guint32 owner, guint64 size_gib,
                                guint64 kept_at);
void pvm_kept_disk_free (PvmKeptDisk *disk);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PvmKeptDisk, pvm_kept_disk_free)

/* ---- records (worker threads) ---- */

/* Writes NAME's record durably (0600, in a 0700 dir it makes if needed). */
gboolean pvm_kept_record_write (const char *records_dir, const char *name,
                                guint32 owner, guint64 kept_at, GError **error);
/* *FOUND FALSE: no record (the disk counts as root's). */
gboolean pvm_kept_record_read (const char *records_dir, const char *name,
                               gboolean *found, guint32 *owner, guint64 *kept_at,
                               GError **error);
/* Removes NAME's record if there is one. */
gboolean pvm_kept_record_remove (const char *records_dir, const char *name,
                                 GError **error);

/* The kept disk NAME: its volume exists and no domain uses the name.
 * TRUE with *DISK NULL: there is none. */
gboolean pvm_kept_lookup (virConnectPtr conn, virStoragePoolPtr pool,
                          const char *records_dir, const char *name,
                          PvmKeptDisk **disk, GError **error);
/* Every kept disk in POOL. */
GPtrArray *pvm_kept_scan (virConnectPtr conn, virStoragePoolPtr pool,
                          const char *records_dir, GError **error);

/* ---- the table (main loop) ---- */

#define PVM_TYPE_KEPT (pvm_kept_get_type ())
G_DECLARE_FINAL_TYPE (PvmKept, pvm_kept, PVM, KEPT, GObject)

/* Signal "changed": the set of kept disks changed. */
PvmKept *pvm_kept_new (void);
/* Takes DISK, replacing any of its name. */
void pvm_kept_add (PvmKept *self, PvmKeptDisk *disk);
void pvm_kept_remove (PvmKept *self, const char *name);
const PvmKeptDisk *pvm_kept_get (PvmKept *self, const char *name);
/* Bumped by every change: a scan begun before a change is stale. */
guint pvm_kept_generation (PvmKept *self);
/* Takes DISKS (PvmKeptDisk*, freeing them) as the whole set. */
void pvm_kept_replace (PvmKept *self, GPtrArray *disks);
/* a(sutt), sorted by name: name, owner, size GiB, kept-at. */
GVariant *pvm_kept_to_variant (PvmKept *self);

G_END_DECLS
