#include "virt.h"

#include <libvirt/virterror.h>

#include "errors.h"
#include "metadata.h"

gboolean
pvm_set_libvirt_error (GError **error, const char *what)
{
  const char *msg = virGetLastErrorMessage ();

  g_set_error (error, PVM_ERROR, PVM_ERROR_FAILED, "%s: %s", what,
               msg != NULL ? msg : "unknown libvirt error");
  return FALSE;
}

gboolean
pvm_lookup_domain (virConnectPtr conn, const char *vm_name, virDomainPtr *dom,
                   GError **error)
{
  g_autofree char *domain_name = g_strconcat (PVM_DOMAIN_PREFIX, vm_name, NULL);

  *dom = virDomainLookupByName (conn, domain_name);
  if (*dom == NULL && virGetLastErrorCode () != VIR_ERR_NO_DOMAIN)
    return pvm_set_libvirt_error (error, "looking up the domain");
  return TRUE;
}
