/* Checks on everything a client sends, shared by the service and the client.
 * Each returns FALSE with a PVM_ERROR_INVALID_ARGUMENT error whose message
 * names the offending value and the rule it broke. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PVM_NAME_MAX 55
#define PVM_MEMORY_MIB_MIN 128
#define PVM_MEMORY_MIB_MAX (256 * 1024)   /* 256 GiB */
#define PVM_CPUS_MIN 1
#define PVM_CPUS_MAX 64
#define PVM_DISK_GIB_MIN 1
#define PVM_DISK_GIB_MAX 4096             /* 4 TiB, sparse */
#define PVM_SSH_KEYS_MAX 32
#define PVM_SSH_KEY_LINE_MAX 8192

/* A client's value for an error message: escaped to printable ASCII, cut
 * after 60 bytes (marked "..."), in double quotes; "(null)" for NULL. */
char *pvm_quote_value (const char *text);

/* 1-55 of [a-z0-9-], starts with a letter, does not end with '-'. */
gboolean pvm_validate_name (const char *name, GError **error);

/* "/org/projectvm/vm/<name>" with each '-' as '_'. name must be valid. */
char *pvm_vm_object_path (const char *name);

/* "4096", "4096M", "4G", "512K", "1T" (case-insensitive, optional "iB"/"B")
 * to MiB. Plain numbers are MiB. K must give a whole number of MiB. */
gboolean pvm_parse_size_mib (const char *text, guint64 *out_mib, GError **error);

/* The same notation in whole GiB: "50G", "1T", "51200" (MiB, as every
 * plain number) and "51200M" are 50 GiB; "1500" is refused. */
gboolean pvm_parse_size_gib (const char *text, guint64 *out_gib, GError **error);

/* A disk size for the user who typed it: like pvm_parse_size_gib, and under
 * PVM_DISK_GIB_MIN refused with the size in MiB and, for a plain number, the
 * hint "did you mean 50G?". WHAT starts the message ("disk", "root"), DISK
 * names the disk ("the project disk"). */
gboolean pvm_parse_disk_size (const char *text, const char *what, const char *disk,
                              guint64 *out_gib, GError **error);

gboolean pvm_validate_memory_mib (guint64 mib, GError **error);
gboolean pvm_validate_cpus (guint32 cpus, GError **error);
gboolean pvm_validate_disk_gib (guint64 gib, GError **error);

/* One OpenSSH public key line: "TYPE BASE64 [COMMENT]", known TYPE, base64
 * that decodes to a blob whose first string is TYPE, no options prefix, no
 * control characters, at most PVM_SSH_KEY_LINE_MAX bytes, valid UTF-8. */
gboolean pvm_validate_ssh_key (const char *line, GError **error);

G_END_DECLS
