#include "errors.h"

#include <gio/gio.h>

static const GDBusErrorEntry pvm_error_entries[] = {
  { PVM_ERROR_FAILED, "org.projectvm.Error.Failed" },
  { PVM_ERROR_INVALID_ARGUMENT, "org.projectvm.Error.InvalidArgument" },
  { PVM_ERROR_NOT_FOUND, "org.projectvm.Error.NotFound" },
  { PVM_ERROR_EXISTS, "org.projectvm.Error.Exists" },
  { PVM_ERROR_NOT_AUTHORIZED, "org.projectvm.Error.NotAuthorized" },
  { PVM_ERROR_BUSY, "org.projectvm.Error.Busy" },
  { PVM_ERROR_TIMEOUT, "org.projectvm.Error.Timeout" },
  { PVM_ERROR_QUOTA_EXCEEDED, "org.projectvm.Error.QuotaExceeded" },
};

GQuark
pvm_error_quark (void)
{
  static gsize quark = 0;

  /* Registering maps GErrors to D-Bus error names in both directions. */
  g_dbus_error_register_error_domain ("pvm-error-quark", &quark,
                                      pvm_error_entries,
                                      G_N_ELEMENTS (pvm_error_entries));
  return (GQuark) quark;
}
