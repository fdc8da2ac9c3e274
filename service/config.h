/* project-vm.conf: a GKeyFile, checked whole at start. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  char *name;
  char *path;      /* base image (qcow2) */
  char *kernel;    /* optional direct kernel boot; NULL when empty */
  char *initrd;
  char *cmdline;
} PvmImage;

typedef enum {
  PVM_DOMAIN_TYPE_AUTO,
  PVM_DOMAIN_TYPE_KVM,
  PVM_DOMAIN_TYPE_QEMU,
} PvmDomainType;

/* One quota section's limits; 0 = no limit. SET has bit 1 << PvmQuotaKey
 * for each key the section names (an absent key defers to the next rule). */
typedef enum {
  PVM_QUOTA_VMS,
  PVM_QUOTA_MEMORY_MIB,
  PVM_QUOTA_CPUS,
  PVM_QUOTA_DISK_GIB,
  PVM_QUOTA_CREATES_IN_FLIGHT,
  PVM_QUOTA_N_KEYS,
} PvmQuotaKey;

typedef struct {
  char *name;                 /* the user or group; NULL for [quota] */
  guint64 limit[PVM_QUOTA_N_KEYS];
  guint set;
} PvmQuotaSection;

/* The config key of each PvmQuotaKey: "vms", "memory-mib", ... */
extern const char * const pvm_quota_key_names[];

typedef struct {
  char *uri;
  PvmDomainType domain_type;
  char *pool;
  char *storage_dir;
  char *records_dir;          /* root-only records: the owners of kept disks */
  char *network;
  gboolean isolate_guests;    /* clean-traffic filter and isolated port */

  guint64 default_memory_mib;
  guint32 default_cpus;
  guint64 default_disk_gib;
  guint64 default_root_gib;   /* the overlay grows to this when the image is smaller */
  char *default_image;

  char *ssh_user;
  char *ssh_host_template;   /* "" = use the first address */

  guint32 ready_timeout_sec;
  char *tailscale_authkey_file; /* NULL when unset */

  GPtrArray *images;          /* PvmImage*, in file order */

  PvmQuotaSection quota;      /* [quota]: every user */
  GPtrArray *quota_users;     /* PvmQuotaSection*: [quota user NAME] */
  GPtrArray *quota_groups;    /* PvmQuotaSection*: [quota group NAME] */
} PvmConfig;

/* A section of project-vm.conf and the keys it may hold. Any other section
 * or key stops the load. */
typedef struct {
  const char *group;          /* PVM_CONFIG_IMAGE stands for each "image NAME",
                               * PVM_CONFIG_QUOTA_USER / _GROUP for each of theirs */
  const char * const *keys;   /* NULL-terminated */
} PvmConfigSection;

#define PVM_CONFIG_IMAGE "image"
#define PVM_CONFIG_QUOTA "quota"
#define PVM_CONFIG_QUOTA_USER "quota user"     /* "quota user NAME" */
#define PVM_CONFIG_QUOTA_GROUP "quota group"   /* "quota group NAME" */

/* Every section, ending with { NULL, NULL }. */
extern const PvmConfigSection pvm_config_sections[];
/* GROUP's entry ("image NAME" gives the image one); NULL when unknown. */
const PvmConfigSection *pvm_config_find_section (const char *group);

/* Loads and checks FILE. Errors name the file, the key and the problem. */
PvmConfig *pvm_config_load (const char *file, GError **error);
/* The same from LEN bytes of DATA; NAME stands for the file in errors. */
PvmConfig *pvm_config_load_from_data (const char *data, gsize len,
                                      const char *name, GError **error);
void pvm_config_free (PvmConfig *config);
const PvmImage *pvm_config_find_image (const PvmConfig *config, const char *name);
/* The image names, NULL-terminated, for the Images property. */
char **pvm_config_image_names (const PvmConfig *config);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PvmConfig, pvm_config_free)

G_END_DECLS
