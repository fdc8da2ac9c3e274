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

/* GROUP is a known section, its keys are known, and every value the
 * loader reads is readable. */
static void
check_group (GKeyFile *kf, const char *group)
{
  const PvmConfigSection *section = pvm_config_find_section (group);
  g_auto(GStrv) keys = g_key_file_get_keys (kf, group, NULL, NULL);

  if (section == NULL)
    g_error ("loaded with an unknown section [%s]", group);
  for (guint k = 0; keys[k] != NULL; k++)
    if (!g_strv_contains (section->keys, keys[k]))
      g_error ("loaded with an unknown key [%s] %s", group, keys[k]);
  for (guint k = 0; section->keys[k] != NULL; k++)
    check_key_readable (kf, group, section->keys[k]);
}

static void
check_loaded (const PvmConfig *c, const uint8_t *data, size_t size)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_auto(GStrv) names = pvm_config_image_names (c);
  g_auto(GStrv) groups = NULL;

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

  /* What the loader accepted, GKeyFile itself can load and read, and it
   * holds no section or key but those of config.h's table. */
  g_assert_true (g_key_file_load_from_data (kf, (const char *) data, size,
                                            G_KEY_FILE_KEEP_TRANSLATIONS, NULL));
  groups = g_key_file_get_groups (kf, NULL);
  for (guint i = 0; groups[i] != NULL; i++)
    check_group (kf, groups[i]);
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
    {
      /* An error is one line of valid UTF-8, whatever the file holds. */
      g_assert_nonnull (error);
      g_assert_true (g_utf8_validate (error->message, -1, NULL));
      g_assert_null (strchr (error->message, '\n'));
    }
  return 0;
}
