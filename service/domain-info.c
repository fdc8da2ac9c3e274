#include "domain-info.h"

#include <string.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "gvir-autoptr.h"
#include "virt.h"

void
pvm_domain_info_free (PvmDomainInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->name);
  g_free (info->mac);
  g_free (info->console_log);
  pvm_metadata_clear (&info->meta);
  g_free (info);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (xmlDoc, xmlFreeDoc)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (xmlXPathContext, xmlXPathFreeContext)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (xmlXPathObject, xmlXPathFreeObject)

/* gconfig does not expose a chardev's <log>: ask libxml2 for the serial's. */
static char *
serial_log_path (const char *xml)
{
  g_autoptr(xmlDoc) doc = xmlReadMemory (xml, strlen (xml), "domain.xml", NULL,
                                         XML_PARSE_NONET | XML_PARSE_NOERROR |
                                         XML_PARSE_NOWARNING);
  g_autoptr(xmlXPathContext) ctx = doc ? xmlXPathNewContext (doc) : NULL;
  g_autoptr(xmlXPathObject) file = NULL;

  if (ctx == NULL)
    return NULL;
  file = xmlXPathEvalExpression (
      (const xmlChar *) "string((/domain/devices/serial/log/@file)[1])", ctx);
  if (file == NULL || file->type != XPATH_STRING || file->stringval == NULL ||
      *file->stringval == '\0')
    return NULL;
  return g_strdup ((const char *) file->stringval);
}

/* Memory, vCPUs and the first MAC, from the domain XML. */
static void
read_domain_xml (PvmDomainInfo *info, const char *xml)
{
  g_autoptr(GVirConfigDomain) conf = gvir_config_domain_new_from_xml (xml, NULL);
  GList *devices;

  if (conf == NULL)
    return;
  info->memory_mib = gvir_config_domain_get_memory (conf) / 1024;
  info->cpus = (guint32) gvir_config_domain_get_vcpus (conf);
  devices = gvir_config_domain_get_devices (conf);
  for (GList *l = devices; l != NULL; l = l->next)
    if (info->mac == NULL && GVIR_CONFIG_IS_DOMAIN_INTERFACE (l->data))
      info->mac = g_strdup (gvir_config_domain_interface_get_mac (l->data));
  g_list_free_full (devices, g_object_unref);
  info->console_log = serial_log_path (xml);
}

gboolean
pvm_domain_info_read (virDomainPtr dom, PvmDomainInfo **out, GError **error)
{
  g_autoptr(PvmDomainInfo) info = g_new0 (PvmDomainInfo, 1);
  g_autofree char *meta_xml = NULL;
  g_autofree char *xml = NULL;
  const char *name = pvm_vm_name_from_domain (virDomainGetName (dom));
  virErrorPtr err;

  *out = NULL;
  if (name == NULL)
    return TRUE;       /* not a project-* domain */
  info->name = g_strdup (name);
  meta_xml = virDomainGetMetadata (dom, VIR_DOMAIN_METADATA_ELEMENT,
                                   PVM_METADATA_NS, 0);
  if (meta_xml == NULL)
    {
      err = virGetLastError ();
      if (err != NULL && (err->code == VIR_ERR_NO_DOMAIN_METADATA ||
                          err->code == VIR_ERR_NO_DOMAIN))
        return TRUE;   /* not ours, or gone meanwhile */
      return pvm_set_libvirt_error (error, "reading the domain metadata");
    }
  if (!pvm_metadata_parse (meta_xml, &info->meta, NULL))
    return TRUE;       /* a foreign or damaged element: not ours to show */
  if (virDomainGetState (dom, (int *) &info->state, &info->reason, 0) < 0)
    return pvm_set_libvirt_error (error, "reading the domain state");
  xml = virDomainGetXMLDesc (dom, 0);
  if (xml == NULL)
    return pvm_set_libvirt_error (error, "reading the domain XML");
  read_domain_xml (info, xml);
  *out = g_steal_pointer (&info);
  return TRUE;
}

static const char * const state_names[] = {
  [PVM_VM_STATE_UNKNOWN] = "unknown",
  [PVM_VM_STATE_RUNNING] = "running",
  [PVM_VM_STATE_PAUSED] = "paused",
  [PVM_VM_STATE_SHUTTING_DOWN] = "shutting-down",
  [PVM_VM_STATE_SHUTOFF] = "shutoff",
  [PVM_VM_STATE_CRASHED] = "crashed",
  [PVM_VM_STATE_SUSPENDED] = "suspended",
};

static const char * const reason_names[] = {
  [PVM_REASON_UNKNOWN] = "unknown",
  [PVM_REASON_BOOTED] = "booted",
  [PVM_REASON_RESUMED] = "resumed",
  [PVM_REASON_RESTORED] = "restored",
  [PVM_REASON_WOKEN] = "woken",
  [PVM_REASON_CRASHED] = "crashed",
  [PVM_REASON_SHUTDOWN] = "shutdown",
  [PVM_REASON_DESTROYED] = "destroyed",
  [PVM_REASON_SAVED] = "saved",
  [PVM_REASON_FAILED] = "failed",
  [PVM_REASON_STOPPED] = "stopped",
  [PVM_REASON_PAUSED] = "paused",
  [PVM_REASON_SHUTTING_DOWN] = "shutting-down",
  [PVM_REASON_SUSPENDED] = "suspended",
  [PVM_REASON_DEFINED] = "defined",
  [PVM_REASON_UNDEFINED] = "undefined",
  [PVM_REASON_SYNCED] = "synced",
  [PVM_REASON_CREATED] = "created",
  [PVM_REASON_LIBVIRT_DISCONNECTED] = "libvirt-disconnected",
};

const char *
pvm_vm_state_name (PvmVmState state)
{
  g_return_val_if_fail ((guint) state < G_N_ELEMENTS (state_names), "unknown");
  return state_names[state];
}

const char *
pvm_reason_name (PvmReason reason)
{
  g_return_val_if_fail ((guint) reason < G_N_ELEMENTS (reason_names), "unknown");
  return reason_names[reason];
}

PvmVmState
pvm_vm_state_from_domain (virDomainState state)
{
  switch (state)
    {
    case VIR_DOMAIN_RUNNING: return PVM_VM_STATE_RUNNING;
    case VIR_DOMAIN_BLOCKED: return PVM_VM_STATE_RUNNING;
    case VIR_DOMAIN_PAUSED: return PVM_VM_STATE_PAUSED;
    case VIR_DOMAIN_SHUTDOWN: return PVM_VM_STATE_SHUTTING_DOWN;
    case VIR_DOMAIN_SHUTOFF: return PVM_VM_STATE_SHUTOFF;
    case VIR_DOMAIN_CRASHED: return PVM_VM_STATE_CRASHED;
    case VIR_DOMAIN_PMSUSPENDED: return PVM_VM_STATE_SUSPENDED;
    default: return PVM_VM_STATE_UNKNOWN;
    }
}

static PvmReason
running_reason (int reason)
{
  switch (reason)
    {
    case VIR_DOMAIN_RUNNING_BOOTED: return PVM_REASON_BOOTED;
    case VIR_DOMAIN_RUNNING_UNPAUSED: return PVM_REASON_RESUMED;
    case VIR_DOMAIN_RUNNING_RESTORED: return PVM_REASON_RESTORED;
    case VIR_DOMAIN_RUNNING_WAKEUP: return PVM_REASON_WOKEN;
    case VIR_DOMAIN_RUNNING_CRASHED: return PVM_REASON_CRASHED;
    default: return PVM_REASON_UNKNOWN;
    }
}

static PvmReason
shutoff_reason (int reason)
{
  switch (reason)
    {
    case VIR_DOMAIN_SHUTOFF_SHUTDOWN: return PVM_REASON_SHUTDOWN;
    case VIR_DOMAIN_SHUTOFF_DESTROYED: return PVM_REASON_DESTROYED;
    case VIR_DOMAIN_SHUTOFF_CRASHED: return PVM_REASON_CRASHED;
    case VIR_DOMAIN_SHUTOFF_SAVED: return PVM_REASON_SAVED;
    case VIR_DOMAIN_SHUTOFF_FAILED: return PVM_REASON_FAILED;
    default: return PVM_REASON_UNKNOWN;
    }
}

PvmReason
pvm_domain_info_reason (const PvmDomainInfo *info)
{
  switch (info->state)
    {
    case VIR_DOMAIN_RUNNING: return running_reason (info->reason);
    case VIR_DOMAIN_SHUTOFF: return shutoff_reason (info->reason);
    case VIR_DOMAIN_PAUSED: return PVM_REASON_PAUSED;
    case VIR_DOMAIN_SHUTDOWN: return PVM_REASON_SHUTTING_DOWN;
    case VIR_DOMAIN_CRASHED: return PVM_REASON_CRASHED;
    case VIR_DOMAIN_PMSUSPENDED: return PVM_REASON_SUSPENDED;
    default: return PVM_REASON_UNKNOWN;
    }
}
