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

static void
quota_section_free (PvmQuotaSection *q)
{
  g_free (q->name);
  g_free (q);
}

void
pvm_config_free (PvmConfig *config)
{
  if (config == NULL)
    return;
  g_free (config->uri);
  g_free (config->pool);
  g_free (config->storage_dir);
  g_free (config->records_dir);
  g_free (config->network);
  g_free (config->default_image);
  g_free (config->ssh_user);
  g_free (config->ssh_host_template);
  g_free (config->tailscale_authkey_file);
  g_free (config->quota.name);
  g_clear_pointer (&config->images, g_ptr_array_unref);
  g_clear_pointer (&config->quota_users, g_ptr_array_unref);
  g_clear_pointer (&config->quota_groups, g_ptr_array_unref);
  g_free (config);
}

/* The sections and their keys: the one list that check_names() holds a
 * file against and that every read goes through (lookup() asserts it). */
static const char * const libvirt_keys[] = {
  "uri", "domain-type", "pool", "storage-dir", "records-dir", "network", "isolate-guests",
  NULL };
static const char * const defaults_keys[] = {
  "memory-mib", "cpus", "disk-gib", "root-gib", "image", NULL };
static const char * const ssh_keys[] = { "user", "host-template", NULL };
static const char * const cloud_init_keys[] = {
  "ready-timeout-sec", "tailscale-authkey-file", NULL };
static const char * const image_keys[] = {
  "path", "kernel", "initrd", "cmdline", NULL };
/* In PvmQuotaKey order. */
const char * const pvm_quota_key_names[] = {
  "vms", "memory-mib", "cpus", "disk-gib", "creates-in-flight", NULL };

const PvmConfigSection pvm_config_sections[] = {
  { "libvirt", libvirt_keys },
  { "defaults", defaults_keys },
  { "ssh", ssh_keys },
  { "cloud-init", cloud_init_keys },
  { PVM_CONFIG_IMAGE, image_keys },
  { PVM_CONFIG_QUOTA, pvm_quota_key_names },
  { PVM_CONFIG_QUOTA_USER, pvm_quota_key_names },
  { PVM_CONFIG_QUOTA_GROUP, pvm_quota_key_names },
  { NULL, NULL },
};

static gboolean
is_image_group (const char *group)
{
  return g_str_has_prefix (group, PVM_CONFIG_IMAGE " ");
}

static gboolean
is_quota_user_group (const char *group)
{
  return g_str_has_prefix (group, PVM_CONFIG_QUOTA_USER " ");
}

static gboolean
is_quota_group_group (const char *group)
{
  return g_str_has_prefix (group, PVM_CONFIG_QUOTA_GROUP " ");
}

const PvmConfigSection *
pvm_config_find_section (const char *group)
{
  const char *name = is_image_group (group) ? PVM_CONFIG_IMAGE
                     : is_quota_user_group (group) ? PVM_CONFIG_QUOTA_USER
                     : is_quota_group_group (group) ? PVM_CONFIG_QUOTA_GROUP
                     : group;

  /* The bare "[image]", "[quota user]", "[quota group]" name nothing. */
  if (name == group && (g_str_equal (group, PVM_CONFIG_IMAGE) ||
                        g_str_equal (group, PVM_CONFIG_QUOTA_USER) ||
                        g_str_equal (group, PVM_CONFIG_QUOTA_GROUP)))
    return NULL;
  for (const PvmConfigSection *s = pvm_config_sections; s->group != NULL; s++)
    if (g_str_equal (s->group, name))
      return s;
  return NULL;
}

static gboolean
section_has_key (const PvmConfigSection *section, const char *key)
{
  return section != NULL && g_strv_contains (section->keys, key);
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
  /* Names are escaped: a file may hold any bytes there, the message stays
   * one line of valid UTF-8. */
  g_autofree char *shown_group = g_strescape (group, NULL);
  g_autofree char *shown_key = key != NULL ? g_strescape (key, NULL) : NULL;

  va_start (args, fmt);
  problem = g_strdup_vprintf (fmt, args);
  va_end (args);
  if (key != NULL)
    g_set_error (error, PVM_ERROR, PVM_ERROR_INVALID_ARGUMENT,
                 "%s: [%s] %s: %s", l->file, shown_group, shown_key, problem);
  else
    g_set_error (error, PVM_ERROR, PVM_ERROR_INVALID_ARGUMENT,
                 "%s: [%s]: %s", l->file, shown_group, problem);
  return FALSE;
}

static gboolean
fail_value (const Loader *l, GError **error, const char *group, const char *key,
            const char *value, const char *fmt, ...) G_GNUC_PRINTF (6, 7);

/* fail() for a bad VALUE, which leads the problem quoted and escaped. */
static gboolean
fail_value (const Loader *l, GError **error, const char *group, const char *key,
            const char *value, const char *fmt, ...)
{
  va_list args;
  g_autofree char *quoted = pvm_quote_value (value);
  g_autofree char *problem = NULL;

  va_start (args, fmt);
  problem = g_strdup_vprintf (fmt, args);
  va_end (args);
  return fail (l, error, group, key, "%s%s", quoted, problem);
}

/* The value of KEY, unescaped; NULL in *out when the key is not there. A
 * value GKeyFile cannot read (not UTF-8, a bad escape) is an error, never
 * the same as a missing key: it must not quietly become the default. */
static gboolean
lookup (const Loader *l, const char *group, const char *key, char **out,
        GError **error)
{
  g_autoptr(GError) local = NULL;

  /* Every key read is in the section's table, so check_names() never
   * refuses a key the loader takes. */
  g_assert (section_has_key (pvm_config_find_section (group), key));

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
    return fail_value (l, error, group, key, value,
                       " is not a whole number from %" G_GUINT64_FORMAT
                       " to %" G_GUINT64_FORMAT, min, max);
  *out = n;
  return TRUE;
}

static gboolean
get_bool (const Loader *l, const char *group, const char *key, gboolean fallback,
          gboolean *out, GError **error)
{
  g_autofree char *value = NULL;

  if (!lookup (l, group, key, &value, error))
    return FALSE;
  if (value == NULL)
    {
      *out = fallback;
      return TRUE;
    }
  g_strstrip (value);
  if (g_str_equal (value, "true"))
    *out = TRUE;
  else if (g_str_equal (value, "false"))
    *out = FALSE;
  else
    return fail_value (l, error, group, key, value, " is not true or false");
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
    return fail_value (l, error, group, key, value, " is not an absolute path");
  *out = g_steal_pointer (&value);
  return TRUE;
}

/* Is PATH DIR or below it? (Both absolute; no symlinks resolved.) */
static gboolean
is_within (const char *path, const char *dir)
{
  g_autofree char *p = g_canonicalize_filename (path, "/");
  g_autofree char *d = g_canonicalize_filename (dir, "/");
  gsize n = strlen (d);

  return g_str_equal (d, "/") ||
         (strncmp (p, d, n) == 0 && (p[n] == '\0' || p[n] == '/'));
}

static gboolean
load_libvirt (const Loader *l, PvmConfig *c, GError **error)
{
  g_autofree char *type = NULL;

  if (!get_string (l, "libvirt", "uri", "qemu:///system", FALSE, &c->uri, error) ||
      !get_string (l, "libvirt", "domain-type", "auto", FALSE, &type, error) ||
      !get_string (l, "libvirt", "pool", "project-vm", FALSE, &c->pool, error) ||
      !get_absolute_path (l, "libvirt", "storage-dir", FALSE, &c->storage_dir, error) ||
      !get_absolute_path (l, "libvirt", "records-dir", FALSE, &c->records_dir, error) ||
      !get_string (l, "libvirt", "network", "default", FALSE, &c->network, error) ||
      !get_bool (l, "libvirt", "isolate-guests", TRUE, &c->isolate_guests, error))
    return FALSE;
  if (c->storage_dir == NULL)
    c->storage_dir = g_strdup ("/var/lib/project-vm");
  if (c->records_dir == NULL)
    c->records_dir = g_strdup ("/var/lib/project-vmd");
  /* The dir pool lists everything under storage-dir as a volume. */
  if (is_within (c->records_dir, c->storage_dir))
    return fail_value (l, error, "libvirt", "records-dir", c->records_dir,
                       " must be outside storage-dir");

  if (g_str_equal (type, "auto"))
    c->domain_type = PVM_DOMAIN_TYPE_AUTO;
  else if (g_str_equal (type, "kvm"))
    c->domain_type = PVM_DOMAIN_TYPE_KVM;
  else if (g_str_equal (type, "qemu"))
    c->domain_type = PVM_DOMAIN_TYPE_QEMU;
  else
    return fail_value (l, error, "libvirt", "domain-type", type,
                       " is not one of auto, kvm, qemu");
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
    return fail_value (l, error, "ssh", "user", c->ssh_user,
                       " is not a valid login name (a-z, 0-9, '_', '-')");
  brace = strchr (c->ssh_host_template, '{');
  while (brace != NULL)
    {
      if (!g_str_has_prefix (brace, "{name}"))
        return fail_value (l, error, "ssh", "host-template", c->ssh_host_template,
                           ": the only placeholder is {name}");
      brace = strchr (brace + 1, '{');
    }
  return TRUE;
}

static gboolean
load_image (const Loader *l, const char *group, PvmConfig *c, GError **error)
{
  g_autoptr(GError) local = NULL;
  PvmImage *image = g_new0 (PvmImage, 1);
  const char *name = group + strlen (PVM_CONFIG_IMAGE " ");

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

/* Quota limits are counts and sizes: 0 (no limit) up to what one host
 * could hold many times over. */
#define QUOTA_MAX (G_GUINT64_CONSTANT (1) << 40)

static gboolean
load_quota (const Loader *l, const char *group, const char *name, PvmQuotaSection *q,
            GError **error)
{
  if (name != NULL &&
      !g_regex_match_simple ("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}\\$?$", name, 0, 0))
    {
      /* The name as the file has it may be any bytes: quoted, escaped. */
      g_autofree char *quoted = pvm_quote_value (name);
      return fail (l, error, group, NULL,
                   "%s is not a user or group name (a-z, 0-9, '_', '.', '-')", quoted);
    }
  q->name = g_strdup (name);
  for (guint k = 0; k < PVM_QUOTA_N_KEYS; k++)
    {
      const char *key = pvm_quota_key_names[k];

      if (!get_uint (l, group, key, 0, 0, QUOTA_MAX, &q->limit[k], error))
        return FALSE;
      if (g_key_file_has_key (l->kf, group, key, NULL))
        q->set |= 1u << k;
    }
  return TRUE;
}

static gboolean
load_quotas (const Loader *l, PvmConfig *c, GError **error)
{
  g_auto(GStrv) groups = g_key_file_get_groups (l->kf, NULL);

  if (!load_quota (l, PVM_CONFIG_QUOTA, NULL, &c->quota, error))
    return FALSE;
  for (guint i = 0; groups[i] != NULL; i++)
    {
      gboolean user = is_quota_user_group (groups[i]);
      GPtrArray *list = user ? c->quota_users : c->quota_groups;
      const char *prefix = user ? PVM_CONFIG_QUOTA_USER " " : PVM_CONFIG_QUOTA_GROUP " ";
      PvmQuotaSection *q;

      if (!user && !is_quota_group_group (groups[i]))
        continue;
      q = g_new0 (PvmQuotaSection, 1);
      g_ptr_array_add (list, q);
      if (!load_quota (l, groups[i], groups[i] + strlen (prefix), q, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
same_letter (char a, char b)
{
  return g_ascii_tolower (a) == g_ascii_tolower (b);
}

/* Edits (insert, delete, replace, swap two neighbours; ASCII case ignored)
 * that turn A into B: how far a misspelt name is from a known one. Three
 * rows of B's length, so a long A costs no memory. */
static gsize
edit_distance (const char *a, const char *b)
{
  gsize n = strlen (b);
  g_autofree gsize *rows = g_new (gsize, 3 * (n + 1));
  gsize *before = rows, *prev = rows + n + 1, *cur = rows + 2 * (n + 1);

  for (gsize j = 0; j <= n; j++)
    prev[j] = j;
  for (gsize i = 1; a[i - 1] != '\0'; i++)
    {
      gsize *spare = before;

      cur[0] = i;
      for (gsize j = 1; j <= n; j++)
        {
          cur[j] = MIN (MIN (prev[j], cur[j - 1]) + 1,
                        prev[j - 1] + !same_letter (a[i - 1], b[j - 1]));
          if (i > 1 && j > 1 && same_letter (a[i - 1], b[j - 2])
              && same_letter (a[i - 2], b[j - 1]))
            cur[j] = MIN (cur[j], before[j - 2] + 1);
        }
      before = prev, prev = cur, cur = spare;
    }
  return prev[n];
}

/* The known name closest to NAME when it is close enough to be a slip (at
 * most 2 edits, and fewer than half its length), else NULL. */
static const char *
closest (const char *name, const char * const *known)
{
  const char *best = NULL;
  gsize best_distance = 3;

  for (gsize i = 0; known[i] != NULL; i++)
    {
      gsize d = edit_distance (name, known[i]);

      if (d < best_distance && 2 * d < strlen (known[i]))
        {
          best = known[i];
          best_distance = d;
        }
    }
  return best;
}

static char *
did_you_mean (const char *name, const char * const *known,
              const char *open, const char *close)
{
  const char *guess = closest (name, known);

  if (guess == NULL)
    return g_strdup ("");
  return g_strdup_printf (" (did you mean %s%s%s?)", open, guess, close);
}

static gboolean
unknown_section (const Loader *l, const char *group, GError **error)
{
  g_autoptr(GStrvBuilder) b = g_strv_builder_new ();
  g_auto(GStrv) names = NULL;
  g_autofree char *hint = NULL;

  for (const PvmConfigSection *s = pvm_config_sections; s->group != NULL; s++)
    if (!g_str_equal (s->group, PVM_CONFIG_IMAGE) &&
        !g_str_equal (s->group, PVM_CONFIG_QUOTA_USER) &&
        !g_str_equal (s->group, PVM_CONFIG_QUOTA_GROUP))
      g_strv_builder_add (b, s->group);
  names = g_strv_builder_end (b);
  hint = did_you_mean (group, (const char * const *) names, "[", "]");
  return fail (l, error, group, NULL, "unknown section%s", hint);
}

/* Every section and key in the file must be one the loaders read: a
 * misspelt key, or one of a later version, must not quietly leave its
 * setting at the default. */
static gboolean
check_names (const Loader *l, GError **error)
{
  g_auto(GStrv) groups = g_key_file_get_groups (l->kf, NULL);

  for (guint i = 0; groups[i] != NULL; i++)
    {
      const PvmConfigSection *section = pvm_config_find_section (groups[i]);
      g_auto(GStrv) keys = NULL;

      if (section == NULL)
        return unknown_section (l, groups[i], error);
      keys = g_key_file_get_keys (l->kf, groups[i], NULL, NULL);
      for (guint k = 0; keys[k] != NULL; k++)
        if (!section_has_key (section, keys[k]))
          {
            g_autofree char *hint = did_you_mean (keys[k], section->keys, "", "");

            return fail (l, error, groups[i], keys[k], "unknown key%s", hint);
          }
    }
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
  c->quota_users = g_ptr_array_new_with_free_func ((GDestroyNotify) quota_section_free);
  c->quota_groups = g_ptr_array_new_with_free_func ((GDestroyNotify) quota_section_free);
  if (!check_names (&l, error) ||
      !load_libvirt (&l, c, error) ||
      !load_defaults (&l, c, error) ||
      !load_ssh_and_cloud_init (&l, c, error) ||
      !load_quotas (&l, c, error))
    return NULL;

  groups = g_key_file_get_groups (kf, NULL);
  for (guint i = 0; groups[i] != NULL; i++)
    if (is_image_group (groups[i]) &&
        !load_image (&l, groups[i], c, error))
      return NULL;

  if (pvm_config_find_image (c, c->default_image) == NULL)
    {
      g_autofree char *shown = g_strescape (c->default_image, NULL);

      fail_value (&l, error, "defaults", "image", c->default_image,
                  " has no [image %s] section", shown);
      return NULL;
    }
  return g_steal_pointer (&c);
}

/* GKeyFile drops a "key[LOCALE]" line unless LOCALE is the current one;
 * kept, check_names() refuses it the same in every locale. */
#define LOAD_FLAGS G_KEY_FILE_KEEP_TRANSLATIONS

static gboolean
load_failed (const char *name, GError *local, GError **error)
{
  /* GKeyFile quotes the line it could not parse as it is. */
  g_autofree char *message = g_utf8_make_valid (local->message, -1);

  g_set_error (error, PVM_ERROR, PVM_ERROR_INVALID_ARGUMENT,
               "%s: %s", name, message);
  return FALSE;
}

PvmConfig *
pvm_config_load (const char *file, GError **error)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(GError) local = NULL;

  /* Not through pvm_config_load_from_data: GKeyFile's own read gives the
   * plain "No such file or directory" for a missing file. */
  if (!g_key_file_load_from_file (kf, file, LOAD_FLAGS, &local))
    return load_failed (file, local, error), NULL;
  return config_from_key_file (kf, file, error);
}

PvmConfig *
pvm_config_load_from_data (const char *data, gsize len, const char *name,
                           GError **error)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(GError) local = NULL;

  if (!g_key_file_load_from_data (kf, data, len, LOAD_FLAGS, &local))
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
