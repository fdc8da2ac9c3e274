/* project-vm's element in a domain's <metadata>: what libvirt does not know
 * about a project VM. Its presence is what makes a project-* domain ours. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PVM_METADATA_NS "https://projectvm.org/xmlns/project-vm/1"
#define PVM_METADATA_PREFIX "pvm"
#define PVM_DOMAIN_PREFIX "project-"

typedef struct {
  guint32 owner;          /* uid of the creator */
  char *image;            /* base image name */
  guint64 disk_gib;       /* project disk size */
  guint64 root_gib;       /* system disk's virtual size asked for; 0: not recorded */
  guint64 created_at;     /* unix seconds */
  char *instance_id;      /* cloud-init instance-id of this creation */
} PvmMetadata;

void pvm_metadata_clear (PvmMetadata *meta);
void pvm_metadata_free (PvmMetadata *meta);

/* The element as virDomainSetMetadata wants it (children unprefixed). */
char *pvm_metadata_to_xml (const PvmMetadata *meta);

/* Parses the element virDomainGetMetadata returns. */
gboolean pvm_metadata_parse (const char *xml, PvmMetadata *meta, GError **error);

/* "project-web" -> "web"; NULL when the domain name is not a project VM's. */
const char *pvm_vm_name_from_domain (const char *domain_name);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PvmMetadata, pvm_metadata_free)

G_END_DECLS
