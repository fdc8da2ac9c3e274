/* The VM lifecycle methods, each read top to bottom: Start [--wait], Stop
 * (ACPI, wait, power-off), Destroy (power off, undefine, remove the
 * volumes) and OpenConsole. Each libvirt step is one short function run on
 * a worker thread; what follows it runs on the main loop and answers
 * through the PvmOperation. The VM (vm.c) hands each call in with a
 * PvmLifecycleHost, and forwards the events a waiting call ends on. */
#pragma once

#include <gio/gio.h>

#include "config.h"
#include "console.h"
#include "domain-info.h"
#include "hypervisor.h"
#include "kept.h"
#include "operation.h"

G_BEGIN_DECLS

/* What a call needs of its VM. It lives in the VM, which the call keeps. */
typedef struct {
  gpointer vm;                  /* a GObject, kept alive by each step */
  const char *name;
  PvmHypervisor *hypervisor;
  const PvmConfig *config;
  PvmKept *kept;                /* Destroy with keep-data adds to it */
  /* A step's fresh snapshot, applied before the call answers. */
  void (*apply) (gpointer vm, const PvmDomainInfo *info);
  /* Has cloud-init finished this boot? */
  gboolean (*ready) (gpointer vm);
  /* Destroy removed the domain. */
  void (*destroyed) (gpointer vm);
} PvmLifecycleHost;

/* Parses the call's a{sv} options into its params, with the defaults. */
gboolean pvm_lifecycle_parse (PvmOperation *op, const PvmLifecycleHost *host,
                              GError **error);
/* Runs the call of the operation's kind to its answer. */
void pvm_lifecycle_run (PvmOperation *op, const PvmLifecycleHost *host);

/* Events of the VM; OP (may be NULL) is the call under way on it. */
void pvm_lifecycle_ready (PvmOperation *op);
void pvm_lifecycle_shutoff (PvmOperation *op, const char *name, PvmReason reason);
void pvm_lifecycle_removed (PvmOperation *op, const char *name);

G_END_DECLS
