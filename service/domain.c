#include "domain.h"

#include "gvir-autoptr.h"

static void
add_device_xml (GVirConfigDomain *domain, GType type, const char *xml)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVirConfigObject) device = gvir_config_object_new_from_xml (type, NULL, NULL, xml, &error);

  /* The snippets are ours and escaped: a parse error is a bug. */
  g_assert_no_error (error);
  gvir_config_domain_add_device (domain, GVIR_CONFIG_DOMAIN_DEVICE (device));
}

/* gconfig's disk API has no <serial>; the guest finds the project disk as
 * /dev/disk/by-id/virtio-project by it, so this one is written as XML. */
static void
add_disk (GVirConfigDomain *domain, const char *path, const char *format,
          const char *dev, const char *bus, const char *device, const char *serial,
          gboolean readonly)
{
  g_autofree char *serial_xml =
      serial ? g_markup_printf_escaped ("<serial>%s</serial>", serial) : g_strdup ("");
  g_autofree char *xml = g_markup_printf_escaped (
      "<disk type='file' device='%s'>"
      "<driver name='qemu' type='%s'/>"
      "<source file='%s'/>"
      "<target dev='%s' bus='%s'/>"
      "</disk>",
      device, format, path, dev, bus);
  g_autoptr(GString) full = g_string_new (xml);

  /* Markup escaping applies to values only: the elements go in after. */
  g_string_replace (full, "</disk>", "", 1);
  g_string_append_printf (full, "%s%s</disk>", serial_xml, readonly ? "<readonly/>" : "");

  add_device_xml (domain, GVIR_CONFIG_TYPE_DOMAIN_DISK, full->str);
}

static void
add_os (GVirConfigDomain *domain, const PvmImage *image)
{
  g_autoptr(GVirConfigDomainOs) os = gvir_config_domain_os_new ();

  gvir_config_domain_os_set_os_type (os, GVIR_CONFIG_DOMAIN_OS_TYPE_HVM);
  gvir_config_domain_os_set_arch (os, "x86_64");
  /* pc: cloud kernels have no AHCI, so the seed rides an IDE cdrom. */
  gvir_config_domain_os_set_machine (os, "pc");
  if (image->kernel != NULL)
    {
      gvir_config_domain_os_set_kernel (os, image->kernel);
      if (image->initrd != NULL)
        gvir_config_domain_os_set_ramdisk (os, image->initrd);
      if (image->cmdline != NULL)
        gvir_config_domain_os_set_cmdline (os, image->cmdline);
    }
  else
    {
      GList *boot = g_list_append (NULL, GINT_TO_POINTER (GVIR_CONFIG_DOMAIN_OS_BOOT_DEVICE_HD));
      gvir_config_domain_os_set_boot_devices (os, boot);
      g_list_free (boot);
    }
  gvir_config_domain_set_os (domain, os);
}

/* Isolation: libvirt's stock clean-traffic filter drops frames whose MAC
 * or IP (learnt from the guest's DHCP lease) is not the guest's own, and an
 * isolated port forwards nothing to other isolated ports on the bridge, so
 * guests reach the host and the outside but not each other. */
static void
add_network (GVirConfigDomain *domain, const char *network, gboolean isolate)
{
  g_autoptr(GVirConfigDomainInterfaceNetwork) nic = gvir_config_domain_interface_network_new ();
  g_autoptr(GVirConfigDomainInterfaceFilterref) filter = NULL;
  g_autofree char *xml = NULL;
  g_autoptr(GString) full = NULL;

  gvir_config_domain_interface_network_set_source (nic, network);
  gvir_config_domain_interface_set_model (GVIR_CONFIG_DOMAIN_INTERFACE (nic), "virtio");
  if (!isolate)
    {
      gvir_config_domain_add_device (domain, GVIR_CONFIG_DOMAIN_DEVICE (nic));
      return;
    }
  filter = gvir_config_domain_interface_filterref_new ();
  gvir_config_domain_interface_filterref_set_name (filter, "clean-traffic");
  gvir_config_domain_interface_set_filterref (GVIR_CONFIG_DOMAIN_INTERFACE (nic), filter);
  /* gconfig has no <port isolated>: it goes into the serialised element. */
  xml = gvir_config_object_to_xml (GVIR_CONFIG_OBJECT (nic));
  full = g_string_new (xml);
  g_string_replace (full, "</interface>", "<port isolated='yes'/></interface>", 1);
  add_device_xml (domain, GVIR_CONFIG_TYPE_DOMAIN_INTERFACE_NETWORK, full->str);
}

/* A pty (for OpenConsole) whose output virtlogd also writes to a file,
 * truncated at every start: the readiness marker of an earlier boot can
 * never be read as this boot's. */
static void
add_serial (GVirConfigDomain *domain, const char *console_log)
{
  g_autofree char *xml = g_markup_printf_escaped (
      "<serial type='pty'><log file='%s' append='off'/><target port='0'/></serial>",
      console_log);
  g_autoptr(GVirConfigDomainConsole) console = gvir_config_domain_console_new ();
  g_autoptr(GVirConfigDomainChardevSourcePty) pty = gvir_config_domain_chardev_source_pty_new ();

  add_device_xml (domain, GVIR_CONFIG_TYPE_DOMAIN_SERIAL, xml);
  gvir_config_domain_chardev_set_source (GVIR_CONFIG_DOMAIN_CHARDEV (console),
                                         GVIR_CONFIG_DOMAIN_CHARDEV_SOURCE (pty));
  gvir_config_domain_console_set_target_type (console,
                                              GVIR_CONFIG_DOMAIN_CONSOLE_TARGET_SERIAL);
  gvir_config_domain_add_device (domain, GVIR_CONFIG_DOMAIN_DEVICE (console));
}

char *
pvm_domain_build_xml (const PvmDomainParams *p)
{
  g_autoptr(GVirConfigDomain) domain = gvir_config_domain_new ();
  g_autofree char *name = g_strconcat ("project-", p->name, NULL);
  g_autofree char *meta = pvm_metadata_to_xml (p->meta);
  const gchar *features[] = { "acpi", "apic", NULL };

  gvir_config_domain_set_virt_type (domain, p->kvm ? GVIR_CONFIG_DOMAIN_VIRT_KVM
                                                   : GVIR_CONFIG_DOMAIN_VIRT_QEMU);
  gvir_config_domain_set_name (domain, name);
  gvir_config_domain_set_memory (domain, p->memory_mib * 1024);
  gvir_config_domain_set_vcpus (domain, p->cpus);
  gvir_config_domain_set_features (domain, (const GStrv) features);
  add_os (domain, p->image);
  add_disk (domain, p->root_path, "qcow2", "vda", "virtio", "disk", NULL, FALSE);
  add_disk (domain, p->data_path, "qcow2", "vdb", "virtio", "disk", "project", FALSE);
  add_disk (domain, p->seed_path, "raw", "hdc", "ide", "cdrom", NULL, TRUE);
  add_network (domain, p->network, p->isolate);
  add_serial (domain, p->console_log);
  gvir_config_domain_set_custom_xml (domain, meta,
                                     PVM_METADATA_PREFIX, PVM_METADATA_NS, NULL);
  return gvir_config_object_to_xml (GVIR_CONFIG_OBJECT (domain));
}
