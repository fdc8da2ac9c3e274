#include "config.h"

#include <gio/gio.h>

#include "errors.h"
#include "validate.h"

static void
pvm_image_free (PvmImage *image)
{
  g_free (image->name);
  g_free (image->path);
  g_free (image->kernel);
  g_free (image->initrd);
  g_free (image->cmdline);
  g_free (image);
}

void
pvm_config_free (PvmConfig *config)
{
  if (config == NULL)
    return;
  g_free (config->uri);
  g_free (config->pool);
  g_free (config->storage_dir);
  g_free (config->network);
  g_free (config->default_image);
  g_free (config->ssh_user);
  g_free (config->ssh_host_template);
  g_free (config->tailscale_authkey_file);
  g_clear_pointer (&config->images, g_ptr_array_unref);
  g_free (config);
}

/* The loader's context: the key file and the name it came from, so every
 * error says "FILE: [group] key: problem". */
typedef struct {
  GKeyFile *kf;
  const char *file;
} Loader;

static gboolean
fail (const Loader *l, GError **error, const char *group, const char *key,
      const char *fmt, ...) G_GNUC_PRINTF (5, 6);

static gboolean
fail (const Loader *l, GError **error, const char *group, const char *key,
      const char *fmt, ...)
{
  va_list args;
  g_autofree char *problem = NULL;

  va_start (args, fmt);
  problem = g_strdup_vprintf (fmt, args);
  va_end (args);
  if (key != NULL)
    g_set_error (error, PVM_ERROR, PVM_ERROR_INVALID_ARGUMENT,
                 "%s: [%s] %s: %s", l->file, group, key, problem);
  else
    g_set_error (error, PVM_ERROR, PVM_ERROR_INVALID_ARGUMENT,
                 "%s: [%s]: %s", l->file, group, problem);
  return FALSE;
}

/* The value of KEY, unescaped; NULL in *out when the key is not there. A
 * value GKeyFile cannot read (not UTF-8, a bad escape) is an error, never
 * the same as a missing key: it must not quietly become the default. */
static gboolean
lookup (const Loader *l, const char *group, const char *key, char **out,
        GError **error)
{
  g_autoptr(GError) local = NULL;

  /* GLib 2.74 returns a value for an invalid escape sequence ("\\q") and
   * sets the error too: the error decides. */
  *out = g_key_file_get_string (l->kf, group, key, &local);
  if (local == NULL)
    return TRUE;
  g_clear_pointer (out, g_free);
  if (g_error_matches (local, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND)
      || g_error_matches (local, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_GROUP_NOT_FOUND))
    return TRUE;
  if (g_error_matches (local, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_UNKNOWN_ENCODING))
    return fail (l, error, group, key, "the value is not valid UTF-8");
  return fail (l, error, group, key, "%s", local->message);
}

/* A string value; missing gives DEFAULT (NULL: the key is required). */
static gboolean
get_string (const Loader *l, const char *group, const char *key,
            const char *fallback, gboolean allow_empty, char **out,
            GError **error)
{
  g_autofree char *value = NULL;

  if (!lookup (l, group, key, &value, error))
    return FALSE;
  if (value == NULL)
    {
      if (fallback == NULL)
        return fail (l, error, group, key, "missing; it is required");
      value = g_strdup (fallback);
    }
  g_strstrip (value);
  if (!allow_empty && *value == '\0')
    return fail (l, error, group, key, "must not be empty");
  *out = g_steal_pointer (&value);
  return TRUE;
}

static gboolean
get_uint (const Loader *l, const char *group, const char *key,
          guint64 fallback, guint64 min, guint64 max, guint64 *out,
          GError **error)
{
  g_autofree char *value = NULL;
  guint64 n;

  if (!lookup (l, group, key, &value, error))
    return FALSE;
  if (value == NULL)
    {
      *out = fallback;
      return TRUE;
    }
  g_strstrip (value);
  if (!g_ascii_string_to_unsigned (value, 10, min, max, &n, NULL))
    return fail (l, error, group, key,
                 "\"%s\" is not a whole number from %" G_GUINT64_FORMAT
                 " to %" G_GUINT64_FORMAT, value, min, max);
  *out = n;
  return TRUE;
}

static gboolean
get_absolute_path (const Loader *l, const char *group, const char *key,
                   gboolean required, char **out, GError **error)
{
  g_autofree char *value = NULL;

  if (!get_string (l, group, key, required ? NULL : "", !required, &value, error))
    return FALSE;
  if (*value == '\0')
    {
      *out = NULL;
      return TRUE;
    }
  if (!g_path_is_absolute (value))
    return fail (l, error, group, key, "\"%s\" is not an absolute path", value);
  *out = g_steal_pointer (&value);
  return TRUE;
}

static gboolean
load_libvirt (const Loader *l, PvmConfig *c, GError **error)
{
  g_autofree char *type = NULL;

  if (!get_string (l, "libvirt", "uri", "qemu:///system", FALSE, &c->uri, error) ||
      !get_string (l, "libvirt", "domain-type", "auto", FALSE, &type, error) ||
      !get_string (l, "libvirt", "pool", "project-vm", FALSE, &c->pool, error) ||
      !get_absolute_path (l, "libvirt", "storage-dir", FALSE, &c->storage_dir, error) ||
      !get_string (l, "libvirt", "network", "default", FALSE, &c->network, error))
    return FALSE;
  if (c->storage_dir == NULL)
    c->storage_dir = g_strdup ("/var/lib/project-vm");

  if (g_str_equal (type, "auto"))
    c->domain_type = PVM_DOMAIN_TYPE_AUTO;
  else if (g_str_equal (type, "kvm"))
    c->domain_type = PVM_DOMAIN_TYPE_KVM;
  else if (g_str_equal (type, "qemu"))
    c->domain_type = PVM_DOMAIN_TYPE_QEMU;
  else
    return fail (l, error, "libvirt", "domain-type",
                 "\"%s\" is not one of auto, kvm, qemu", type);
  return TRUE;
}

static gboolean
load_defaults (const Loader *l, PvmConfig *c, GError **error)
{
  guint64 cpus;

  if (!get_uint (l, "defaults", "memory-mib", 4096, PVM_MEMORY_MIB_MIN,
                 PVM_MEMORY_MIB_MAX, &c->default_memory_mib, error) ||
      !get_uint (l, "defaults", "cpus", 2, PVM_CPUS_MIN, PVM_CPUS_MAX, &cpus, error) ||
      !get_uint (l, "defaults", "disk-gib", 50, PVM_DISK_GIB_MIN,
                 PVM_DISK_GIB_MAX, &c->default_disk_gib, error) ||
      !get_uint (l, "defaults", "root-gib", 20, PVM_DISK_GIB_MIN,
                 PVM_DISK_GIB_MAX, &c->default_root_gib, error) ||
      !get_string (l, "defaults", "image", "debian-12", FALSE, &c->default_image, error))
    return FALSE;
  c->default_cpus = (guint32) cpus;
  return TRUE;
}

static gboolean
load_ssh_and_cloud_init (const Loader *l, PvmConfig *c, GError **error)
{
  guint64 timeout;
  const char *brace;

  if (!get_string (l, "ssh", "user", "dev", FALSE, &c->ssh_user, error) ||
      !get_string (l, "ssh", "host-template", "project-{name}.bat-boa.ts.net",
                   TRUE, &c->ssh_host_template, error) ||
      !get_uint (l, "cloud-init", "ready-timeout-sec", 600, 1, 86400, &timeout, error) ||
      !get_absolute_path (l, "cloud-init", "tailscale-authkey-file", FALSE,
                          &c->tailscale_authkey_file, error))
    return FALSE;
  c->ready_timeout_sec = (guint32) timeout;

  /* The user name goes into user-data and ssh targets: keep it a plain
   * POSIX login name. */
  if (!g_regex_match_simple ("^[a-z_][a-z0-9_-]{0,31}$", c->ssh_user, 0, 0))
    return fail (l, error, "ssh", "user",
                 "\"%s\" is not a valid login name (a-z, 0-9, '_', '-')",
                 c->ssh_user);
  brace = strchr (c->ssh_host_template, '{');
  while (brace != NULL)
    {
      if (!g_str_has_prefix (brace, "{name}"))
        return fail (l, error, "ssh", "host-template",
                     "\"%s\": the only placeholder is {name}",
                     c->ssh_host_template);
      brace = strchr (brace + 1, '{');
    }
  return TRUE;
}

static gboolean
load_image (const Loader *l, const char *group, PvmConfig *c, GError **error)
{
  g_autoptr(GError) local = NULL;
  PvmImage *image = g_new0 (PvmImage, 1);
  const char *name = group + strlen ("image ");

  g_ptr_array_add (c->images, image);
  image->name = g_strdup (name);
  if (!pvm_validate_name (name, &local))
    return fail (l, error, group, NULL, "the image name: %s", local->message);
  if (!get_absolute_path (l, group, "path", TRUE, &image->path, error) ||
      !get_absolute_path (l, group, "kernel", FALSE, &image->kernel, error) ||
      !get_absolute_path (l, group, "initrd", FALSE, &image->initrd, error) ||
      !get_string (l, group, "cmdline", "", TRUE, &image->cmdline, error))
    return FALSE;
  if (image->initrd != NULL && image->kernel == NULL)
    return fail (l, error, group, "initrd", "is set but kernel is not");
  if (*image->cmdline == '\0')
    g_clear_pointer (&image->cmdline, g_free);
  return TRUE;
}

static gboolean
check_groups (const Loader *l, GError **error)
{
  static const char *known[] = { "libvirt", "defaults", "ssh", "cloud-init", NULL };
  g_auto(GStrv) groups = g_key_file_get_groups (l->kf, NULL);

  for (guint i = 0; groups[i] != NULL; i++)
    if (!g_strv_contains (known, groups[i]) &&
        !g_str_has_prefix (groups[i], "image "))
      return fail (l, error, groups[i], NULL, "unknown section");
  return TRUE;
}

/* Checks a loaded key file; NAME is the file name for the errors. */
static PvmConfig *
config_from_key_file (GKeyFile *kf, const char *name, GError **error)
{
  g_autoptr(PvmConfig) c = g_new0 (PvmConfig, 1);
  g_auto(GStrv) groups = NULL;
  Loader l = { kf, name };

  c->images = g_ptr_array_new_with_free_func ((GDestroyNotify) pvm_image_free);
  if (!check_groups (&l, error) ||
      !load_libvirt (&l, c, error) ||
      !load_defaults (&l, c, error) ||
      !load_ssh_and_cloud_init (&l, c, error))
    return NULL;

  groups = g_key_file_get_groups (kf, NULL);
  for (guint i = 0; groups[i] != NULL; i++)
    if (g_str_has_prefix (groups[i], "image ") &&
        !load_image (&l, groups[i], c, error))
      return NULL;

  if (pvm_config_find_image (c, c->default_image) == NULL)
    {
      fail (&l, error, "defaults", "image",
            "\"%s\" has no [image %s] section", c->default_image, c->default_image);
      return NULL;
    }
  return g_steal_pointer (&c);
}

static gboolean
load_failed (const char *name, GError *local, GError **error)
{
  g_set_error (error, PVM_ERROR, PVM_ERROR_INVALID_ARGUMENT,
               "%s: %s", name, local->message);
  return FALSE;
}

PvmConfig *
pvm_config_load (const char *file, GError **error)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(GError) local = NULL;

  /* Not through pvm_config_load_from_data: GKeyFile's own read gives the
   * plain "No such file or directory" for a missing file. */
  if (!g_key_file_load_from_file (kf, file, G_KEY_FILE_NONE, &local))
    return load_failed (file, local, error), NULL;
  return config_from_key_file (kf, file, error);
}

PvmConfig *
pvm_config_load_from_data (const char *data, gsize len, const char *name,
                           GError **error)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(GError) local = NULL;

  if (!g_key_file_load_from_data (kf, data, len, G_KEY_FILE_NONE, &local))
    return load_failed (name, local, error), NULL;
  return config_from_key_file (kf, name, error);
}

const PvmImage *
pvm_config_find_image (const PvmConfig *config, const char *name)
{
  for (guint i = 0; i < config->images->len; i++)
    {
      const PvmImage *image = g_ptr_array_index (config->images, i);
      if (g_str_equal (image->name, name))
        return image;
    }
  return NULL;
}

char **
pvm_config_image_names (const PvmConfig *config)
{
  GStrvBuilder *b = g_strv_builder_new ();
  char **names;

  for (guint i = 0; i < config->images->len; i++)
    g_strv_builder_add (b, ((PvmImage *) g_ptr_array_index (config->images, i))->name);
  names = g_strv_builder_end (b);
  g_strv_builder_unref (b);
  return names;
}
