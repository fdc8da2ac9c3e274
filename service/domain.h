/* The libvirt domain of a project VM, written with libvirt-gconfig. */
#pragma once

#include <glib.h>

#include "config.h"
#include "metadata.h"

G_BEGIN_DECLS

typedef struct {
  const char *name;           /* VM name; the domain is project-NAME */
  gboolean kvm;               /* domain type kvm, else qemu (TCG) */
  guint64 memory_mib;
  guint32 cpus;
  const PvmImage *image;      /* kernel/initrd/cmdline for direct boot */
  const char *root_path;      /* overlay */
  const char *data_path;      /* project disk */
  const char *seed_path;      /* seed ISO */
  const char *console_log;    /* serial console log file */
  const char *network;
  gboolean isolate;           /* clean-traffic filter and an isolated port */
  const PvmMetadata *meta;
} PvmDomainParams;

char *pvm_domain_build_xml (const PvmDomainParams *params);

G_END_DECLS
