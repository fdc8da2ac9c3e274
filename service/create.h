/* Manager.Create: check everything, then make the volumes, the seed and the
 * domain on a worker thread, removing all of it when a step fails. */
#pragma once

#include <gio/gio.h>

#include "config.h"
#include "domain-info.h"
#include "hypervisor.h"

G_BEGIN_DECLS

typedef struct {
  char *name;
  guint64 memory_mib;
  guint32 cpus;
  guint64 disk_gib;
  guint64 root_gib;       /* at least this big; a bigger image stays as it is */
  char *image;
  char **ssh_keys;
  gboolean start;
  guint32 owner;          /* the caller's uid */
} PvmCreateRequest;

void pvm_create_request_free (PvmCreateRequest *req);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PvmCreateRequest, pvm_create_request_free)

/* Validates NAME and OPTIONS against the config; touches nothing. */
PvmCreateRequest *pvm_create_request_parse (const PvmConfig *config, const char *name,
                                            GVariant *options, GError **error);

/* Takes REQ; CONFIG must outlive the call. */
void pvm_create_run_async (const PvmConfig *config, PvmHypervisor *hypervisor,
                           PvmCreateRequest *req, GAsyncReadyCallback callback,
                           gpointer user_data);
PvmDomainInfo *pvm_create_run_finish (GAsyncResult *result, GError **error);

G_END_DECLS
