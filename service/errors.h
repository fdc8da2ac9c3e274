/* The org.projectvm.Error.* names of the contract, as a GError domain. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PVM_ERROR (pvm_error_quark ())

typedef enum {
  PVM_ERROR_FAILED,
  PVM_ERROR_INVALID_ARGUMENT,
  PVM_ERROR_NOT_FOUND,
  PVM_ERROR_EXISTS,
  PVM_ERROR_NOT_AUTHORIZED,
  PVM_ERROR_BUSY,
  PVM_ERROR_TIMEOUT,
  PVM_ERROR_QUOTA_EXCEEDED,
} PvmError;

GQuark pvm_error_quark (void);

G_END_DECLS
