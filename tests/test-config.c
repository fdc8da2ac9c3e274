/* Unit tests for service/config.c: every key in the file is one the loader
 * reads, and an unknown one is named, with the closest known key. */
#include <string.h>

#include "config.h"
#include "errors.h"

/* The smallest file that loads: the default image must exist. */
#define MINIMAL "[image debian-12]\npath=/img/d.qcow2\n"

static PvmConfig *
load (const char *text, GError **error)
{
  return pvm_config_load_from_data (text, strlen (text), "test.conf", error);
}

/* The message of loading TEXT, which must fail. */
static char *
refusal (const char *text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PvmConfig) config = load (text, &error);

  g_assert_null (config);
  g_assert_error (error, PVM_ERROR, PVM_ERROR_INVALID_ARGUMENT);
  return g_strdup (error->message);
}

/* Loading TEXT fails with exactly MESSAGE. */
static void
assert_refused (const char *text, const char *message)
{
  g_autofree char *refused = refusal (text);

  g_assert_cmpstr (refused, ==, message);
}

/* A group name for SECTION as a file spells it. */
static char *
group_of (const PvmConfigSection *section)
{
  if (g_str_equal (section->group, PVM_CONFIG_IMAGE))
    return g_strdup (PVM_CONFIG_IMAGE " debian-12");
  if (g_str_equal (section->group, PVM_CONFIG_QUOTA_USER))
    return g_strdup (PVM_CONFIG_QUOTA_USER " alice");
  if (g_str_equal (section->group, PVM_CONFIG_QUOTA_GROUP))
    return g_strdup (PVM_CONFIG_QUOTA_GROUP " staff");
  return g_strdup (section->group);
}

static void
test_example_documents_every_key (void)
{
  g_autofree char *path = g_build_filename (PVM_SOURCE_ROOT, "data",
                                            "project-vm.conf", NULL);
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(PvmConfig) config = pvm_config_load (path, &error);

  g_assert_no_error (error);
  g_assert_nonnull (config);
  g_assert_true (g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, NULL));
  for (const PvmConfigSection *s = pvm_config_sections; s->group != NULL; s++)
    {
      g_autofree char *group = group_of (s);

      /* Per-user and per-group quotas are commented examples there; their
       * keys are [quota]'s. */
      if (g_str_equal (s->group, PVM_CONFIG_QUOTA_USER) ||
          g_str_equal (s->group, PVM_CONFIG_QUOTA_GROUP))
        continue;
      for (guint k = 0; s->keys[k] != NULL; k++)
        if (!g_key_file_has_key (kf, group, s->keys[k], NULL))
          g_error ("data/project-vm.conf lacks [%s] %s", group, s->keys[k]);
    }
}

/* Each key of the table is read by the loader: a value GKeyFile cannot
 * read stops the load at exactly that key. */
static void
test_loader_reads_every_key (void)
{
  for (const PvmConfigSection *s = pvm_config_sections; s->group != NULL; s++)
    {
      g_autofree char *group = group_of (s);

      for (guint k = 0; s->keys[k] != NULL; k++)
        {
          g_autofree char *text = g_strdup_printf ("%s[%s]\n%s=\\q\n", MINIMAL,
                                                   group, s->keys[k]);
          g_autofree char *prefix = g_strdup_printf ("test.conf: [%s] %s: ",
                                                     group, s->keys[k]);
          g_autoptr(GError) error = NULL;
          g_autoptr(PvmConfig) config = load (text, &error);

          g_assert_null (config);
          g_assert_error (error, PVM_ERROR, PVM_ERROR_INVALID_ARGUMENT);
          if (!g_str_has_prefix (error->message, prefix))
            g_error ("[%s] %s: \"%s\"", group, s->keys[k], error->message);
        }
    }
}

static void
test_unknown_key_in_every_section (void)
{
  for (const PvmConfigSection *s = pvm_config_sections; s->group != NULL; s++)
    {
      g_autofree char *group = group_of (s);
      g_autofree char *text = g_strdup_printf ("%s[%s]\nidle-suspend-min=1\n",
                                               MINIMAL, group);
      g_autofree char *message = g_strdup_printf (
          "test.conf: [%s] idle-suspend-min: unknown key", group);

      assert_refused (text, message);
    }
}

static void
test_unknown_key_closest (void)
{
  const struct { const char *group, *key, *message; } cases[] = {
    { "defaults", "memory-mb", "[defaults] memory-mb: unknown key (did you mean memory-mib?)" },
    { "defaults", "Memory-MiB", "[defaults] Memory-MiB: unknown key (did you mean memory-mib?)" },
    { "defaults", "cpu", "[defaults] cpu: unknown key (did you mean cpus?)" },
    { "defaults", "root_gib", "[defaults] root_gib: unknown key (did you mean root-gib?)" },
    { "libvirt", "url", "[libvirt] url: unknown key (did you mean uri?)" },
    { "libvirt", "storagedir", "[libvirt] storagedir: unknown key (did you mean storage-dir?)" },
    { "ssh", "usr", "[ssh] usr: unknown key (did you mean user?)" },
    { "cloud-init", "ready-timeout", "[cloud-init] ready-timeout: unknown key" },
    { "image debian-12", "paht", "[image debian-12] paht: unknown key (did you mean path?)" },
    { "image debian-12", "kernal", "[image debian-12] kernal: unknown key (did you mean kernel?)" },
    /* Too far from every key to be a slip. */
    { "defaults", "memory", "[defaults] memory: unknown key" },
    { "ssh", "id", "[ssh] id: unknown key" },
    { "ssh", "port", "[ssh] port: unknown key" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = g_strdup_printf ("%s[%s]\n%s=1\n", MINIMAL,
                                               cases[i].group, cases[i].key);
      g_autofree char *message = g_strconcat ("test.conf: ", cases[i].message, NULL);

      assert_refused (text, message);
    }
}

static void
test_unknown_section (void)
{
  assert_refused ("[default]\ncpus=2\n" MINIMAL,
                  "test.conf: [default]: unknown section (did you mean [defaults]?)");
  assert_refused ("[idle]\nsuspend-min=4\n" MINIMAL, "test.conf: [idle]: unknown section");
}

/* A translated key is refused in every locale (GKeyFile alone would keep
 * only the current locale's). */
static void
test_translated_key (void)
{
  assert_refused (MINIMAL "path[de]=/img/x.qcow2\n",
                  "test.conf: [image debian-12] path[de]: unknown key");
}

/* A boolean is true or false, nothing GKeyFile would also take. */
static void
test_quota (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PvmConfig) c = NULL;
  const char *text = MINIMAL "[quota]\nvms=4\nmemory-mib=16384\n"
                     "[quota user alice]\nvms=10\n"
                     "[quota group staff]\nmemory-mib=0\ncpus=8\n";

  c = load (text, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (c->quota.limit[PVM_QUOTA_VMS], ==, 4);
  g_assert_cmpuint (c->quota.limit[PVM_QUOTA_MEMORY_MIB], ==, 16384);
  g_assert_cmpuint (c->quota.set, ==, (1u << PVM_QUOTA_VMS) | (1u << PVM_QUOTA_MEMORY_MIB));
  g_assert_cmpuint (c->quota_users->len, ==, 1);
  g_assert_cmpuint (c->quota_groups->len, ==, 1);
  g_assert_cmpstr (((PvmQuotaSection *) c->quota_users->pdata[0])->name, ==, "alice");
  g_assert_cmpuint (((PvmQuotaSection *) c->quota_groups->pdata[0])->set, ==,
                    (1u << PVM_QUOTA_MEMORY_MIB) | (1u << PVM_QUOTA_CPUS));

  assert_refused (MINIMAL "[quota]\nvms=-1\n",
                  "test.conf: [quota] vms: \"-1\" is not a whole number from 0 to 1099511627776");
  assert_refused (MINIMAL "[quota group staff]\ncpus=many\n",
                  "test.conf: [quota group staff] cpus: \"many\" is not a whole number from 0 to 1099511627776");
  assert_refused (MINIMAL "[quota user alice]\nvm=1\n",
                  "test.conf: [quota user alice] vm: unknown key (did you mean vms?)");
  assert_refused (MINIMAL "[quota user a b]\nvms=1\n",
                  "test.conf: [quota user a b]: \"a b\" is not a user or group name (a-z, 0-9, '_', '.', '-')");
  assert_refused (MINIMAL "[quota users]\nvms=1\n",
                  "test.conf: [quota users]: unknown section");
}

static void
test_isolate_guests (void)
{
  g_autoptr(PvmConfig) unset = load (MINIMAL, NULL);
  g_autoptr(PvmConfig) off = load ("[libvirt]\nisolate-guests=false\n" MINIMAL, NULL);

  g_assert_true (unset->isolate_guests);
  g_assert_false (off->isolate_guests);
  assert_refused ("[libvirt]\nisolate-guests=yes\n" MINIMAL,
                  "test.conf: [libvirt] isolate-guests: \"yes\" is not true or false");
}

/* Names and values from the file are escaped wherever an error shows
 * them: one line of valid UTF-8 whatever bytes the file holds. */
static void
test_errors_escaped (void)
{
  g_autofree char *image = refusal ("[image \xff]\npath=/x\n" MINIMAL);

  g_assert_true (g_str_has_prefix (image, "test.conf: [image \\377]: the image name: "
                                          "invalid VM name \"\\377\": "));
  assert_refused ("[ssh]\nus\xff" "er=dev\n" MINIMAL,
                  "test.conf: [ssh] us\\377er: unknown key (did you mean user?)");
  assert_refused ("[defaults]\ncpus=1\\n2\n" MINIMAL,
                  "test.conf: [defaults] cpus: \"1\\n2\" is not a whole number from 1 to 64");
  assert_refused ("[defaults]\nimage=a\\tb\n" MINIMAL,
                  "test.conf: [defaults] image: \"a\\tb\" has no [image a\\tb] section");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/config/example-documents-every-key", test_example_documents_every_key);
  g_test_add_func ("/config/loader-reads-every-key", test_loader_reads_every_key);
  g_test_add_func ("/config/unknown-key/every-section", test_unknown_key_in_every_section);
  g_test_add_func ("/config/unknown-key/closest", test_unknown_key_closest);
  g_test_add_func ("/config/unknown-key/translated", test_translated_key);
  g_test_add_func ("/config/unknown-section", test_unknown_section);
  g_test_add_func ("/config/errors-escaped", test_errors_escaped);
  g_test_add_func ("/config/isolate-guests", test_isolate_guests);
  g_test_add_func ("/config/quota", test_quota);

  return g_test_run ();
}
