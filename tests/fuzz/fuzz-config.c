/* libFuzzer target: project-vm.conf (service/config.c), the input as the
 * whole file. A loaded config must keep every promise config.h makes. */
#include "fuzz-common.h"

#include "config.h"
#include "validate.h"

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  pvm_fuzz_init ();
  return 0;
}

/* Every key the loader reads. A value GKeyFile cannot read (not UTF-8, a
 * bad escape) must stop the load, never stand in for a default. */
static const char * const known_keys[][2] = {
  { "libvirt", "uri" }, { "libvirt", "domain-type" }, { "libvirt", "pool" },
  { "libvirt", "storage-dir" }, { "libvirt", "network" },
  { "defaults", "memory-mib" }, { "defaults", "cpus" },
  { "defaults", "disk-gib" }, { "defaults", "image" },
  { "ssh", "user" }, { "ssh", "host-template" },
  { "cloud-init", "ready-timeout-sec" },
  { "cloud-init", "tailscale-authkey-file" },
};
static const char * const image_keys[] = { "path", "kernel", "initrd", "cmdline" };

static void
check_key_readable (GKeyFile *kf, const char *group, const char *key)
{
  g_autoptr(GError) error = NULL;

  /* GLib 2.74 can return a value and an error (an invalid escape). */
  g_free (g_key_file_get_string (kf, group, key, &error));
  if (error != NULL
      && !g_error_matches (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND)
      && !g_error_matches (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_GROUP_NOT_FOUND))
    g_error ("loaded although [%s] %s cannot be read: %s", group, key,
             error->message);
}

static void
check_loaded (const PvmConfig *c, const uint8_t *data, size_t size)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_auto(GStrv) names = pvm_config_image_names (c);

  g_assert_nonnull (c->uri);
  g_assert_true (c->domain_type == PVM_DOMAIN_TYPE_AUTO
                 || c->domain_type == PVM_DOMAIN_TYPE_KVM
                 || c->domain_type == PVM_DOMAIN_TYPE_QEMU);
  g_assert_true (c->pool != NULL && *c->pool != '\0');
  g_assert_true (c->storage_dir != NULL && g_path_is_absolute (c->storage_dir));
  g_assert_true (c->network != NULL && *c->network != '\0');
  g_assert_true (pvm_validate_memory_mib (c->default_memory_mib, NULL));
  g_assert_true (pvm_validate_cpus (c->default_cpus, NULL));
  g_assert_true (pvm_validate_disk_gib (c->default_disk_gib, NULL));
  g_assert_nonnull (pvm_config_find_image (c, c->default_image));
  g_assert_true (g_regex_match_simple ("^[a-z_][a-z0-9_-]{0,31}$", c->ssh_user, 0, 0));
  g_assert_nonnull (c->ssh_host_template);
  g_assert_cmpuint (c->ready_timeout_sec, >=, 1);
  g_assert_true (c->tailscale_authkey_file == NULL
                 || g_path_is_absolute (c->tailscale_authkey_file));

  g_assert_cmpuint (g_strv_length (names), ==, c->images->len);
  for (guint i = 0; i < c->images->len; i++)
    {
      const PvmImage *image = g_ptr_array_index (c->images, i);

      g_assert_true (pvm_validate_name (image->name, NULL));
      g_assert_true (image->path != NULL && g_path_is_absolute (image->path));
      g_assert_true (image->kernel == NULL || g_path_is_absolute (image->kernel));
      g_assert_true (image->initrd == NULL || image->kernel != NULL);
      g_assert_true (image->cmdline == NULL || *image->cmdline != '\0');
      g_assert_true (pvm_config_find_image (c, image->name) != NULL);
    }

  /* What the loader accepted, GKeyFile itself can load and read. */
  g_assert_true (g_key_file_load_from_data (kf, (const char *) data, size,
                                            G_KEY_FILE_NONE, NULL));
  for (size_t i = 0; i < G_N_ELEMENTS (known_keys); i++)
    check_key_readable (kf, known_keys[i][0], known_keys[i][1]);
  for (guint i = 0; i < c->images->len; i++)
    {
      const PvmImage *image = g_ptr_array_index (c->images, i);
      g_autofree char *group = g_strconcat ("image ", image->name, NULL);

      for (size_t k = 0; k < G_N_ELEMENTS (image_keys); k++)
        check_key_readable (kf, group, image_keys[k]);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PvmConfig) config = NULL;

  config = pvm_config_load_from_data ((const char *) data, size,
                                      "fuzz.conf", &error);
  if (config != NULL)
    check_loaded (config, data, size);
  else
    g_assert_nonnull (error);
  return 0;
}
