/* The cloud-init NoCloud seed: meta-data, user-data and the ISO 9660 image
 * (volume id "cidata") that carries them, built in memory with libisofs. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* cloud-init prints final_message on the serial console at the end of every
 * boot; the service waits for this marker in the console log of this boot. */
#define PVM_READY_MARKER "PROJECT_VM_READY"

typedef struct {
  const char *name;              /* VM name, already validated */
  const char *instance_id;       /* fresh per creation */
  const char *user;              /* [ssh] user */
  const char * const *ssh_keys;  /* NULL-terminated, validated key lines */
  const char *tailscale_authkey; /* NULL: no Tailscale join */
} PvmSeedParams;

/* A YAML double-quoted scalar for any UTF-8 string (quotes included). */
char *pvm_yaml_quote (const char *text);

char *pvm_seed_meta_data (const PvmSeedParams *params);
char *pvm_seed_user_data (const PvmSeedParams *params);
/* No explicit configuration (a comment only), so cloud-init's fallback, DHCP
 * on the primary NIC whatever its name, applies with every renderer. */
char *pvm_seed_network_config (const PvmSeedParams *params);

/* The whole ISO image: files meta-data, user-data, network-config. */
GBytes *pvm_seed_build_iso (const PvmSeedParams *params, GError **error);

G_END_DECLS
