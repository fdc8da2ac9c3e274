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

static void
check_sizes (const char *text)
{
  g_autoptr(GError) mib_error = NULL;
  g_autoptr(GError) gib_error = NULL;
  guint64 mib = 0, gib = 0;
  gboolean mib_ok = pvm_parse_size_mib (text, &mib, &mib_error);
  gboolean gib_ok = pvm_parse_size_gib (text, &gib, &gib_error);
  size_t len = strlen (text);

  if (!mib_ok)
    pvm_fuzz_check_error (mib_error);
  if (!gib_ok)
    pvm_fuzz_check_error (gib_error);

  /* With a unit letter both parsers read the same amount: a whole number
   * of GiB is also a whole number of MiB, 1024 times as many. */
  if (gib_ok && len > 0 && !g_ascii_isdigit (text[len - 1])
      && gib <= G_MAXUINT64 / 1024)
    {
      g_assert_true (mib_ok);
      g_assert_cmpuint (mib, ==, gib * 1024);
    }
  /* A plain number is MiB for one and GiB for the other. */
  if (mib_ok && len > 0 && g_ascii_isdigit (text[len - 1])
      && mib <= G_MAXUINT64 / 1024)
    {
      guint64 mib_of_gib = 0;
      g_autofree char *with_unit = g_strdup_printf ("%sM", text);

      g_assert_true (pvm_parse_size_gib (with_unit, &mib_of_gib, NULL)
                     == (mib % 1024 == 0));
    }
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
