/* libFuzzer target: the checks on what a client sends (service/validate.c),
 * each on the whole input as one NUL-terminated string. */
#include "fuzz-common.h"

#include <gio/gio.h>

#include "validate.h"

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  pvm_fuzz_init ();
  return 0;
}

static void
check_name (const char *text)
{
  g_autoptr(GError) error = NULL;

  if (pvm_validate_name (text, &error))
    {
      g_autofree char *path = pvm_vm_object_path (text);
      size_t len = strlen (text);

      g_assert_cmpuint (len, >=, 1);
      g_assert_cmpuint (len, <=, PVM_NAME_MAX);
      g_assert_true (g_variant_is_object_path (path));
    }
  else
    pvm_fuzz_check_error (error);
}

/* A disk size is a GiB size of at least the minimum, nothing else. */
static void
check_disk_size (const char *text, gboolean gib_ok, guint64 gib)
{
  g_autoptr(GError) error = NULL;
  guint64 disk = 0;

  if (pvm_parse_disk_size (text, "disk", "the project disk", &disk, &error))
    {
      g_assert_true (gib_ok);
      g_assert_cmpuint (disk, ==, gib);
      g_assert_cmpuint (disk, >=, PVM_DISK_GIB_MIN);
    }
  else
    pvm_fuzz_check_error (error);
}

static void
check_sizes (const char *text)
{
  g_autoptr(GError) mib_error = NULL;
  g_autoptr(GError) gib_error = NULL;
  guint64 mib = 0, gib = 0;
  gboolean mib_ok = pvm_parse_size_mib (text, &mib, &mib_error);
  gboolean gib_ok = pvm_parse_size_gib (text, &gib, &gib_error);
  if (!mib_ok)
    pvm_fuzz_check_error (mib_error);
  if (!gib_ok)
    pvm_fuzz_check_error (gib_error);

  /* Both read the same notation (a plain number is MiB): GiB is the MiB
   * amount when that is whole, and refused when it is not. */
  if (gib_ok && gib <= G_MAXUINT64 / 1024)
    {
      g_assert_true (mib_ok);
      g_assert_cmpuint (mib, ==, gib * 1024);
    }
  if (mib_ok)
    g_assert_true (gib_ok == (mib % 1024 == 0));
  check_disk_size (text, gib_ok, gib);
}

static void
check_ssh_key (const char *text)
{
  g_autoptr(GError) error = NULL;

  if (pvm_validate_ssh_key (text, &error))
    {
      /* One line of printable UTF-8: it goes into YAML and authorized_keys. */
      g_assert_true (g_utf8_validate (text, -1, NULL));
      g_assert_null (strchr (text, '\n'));
      g_assert_null (strchr (text, '\r'));
      g_assert_cmpuint (strlen (text), <=, PVM_SSH_KEY_LINE_MAX);
    }
  else
    pvm_fuzz_check_error (error);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = pvm_fuzz_cstring (data, size);
  g_autofree char *quoted = pvm_quote_value (text);

  g_assert_true (g_utf8_validate (quoted, -1, NULL));
  check_name (text);
  check_sizes (text);
  check_ssh_key (text);
  return 0;
}
