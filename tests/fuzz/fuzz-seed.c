/* libFuzzer target: the cloud-init seed (service/seed.c).
 *
 * Input: fields separated by NUL bytes: NAME, USER, TAILSCALE-AUTHKEY
 * (empty: none), then one SSH key line per field. NAME and the keys are
 * checked first, as Manager.Create does; USER and the auth key are taken
 * as they are (the service checks the user in the config and reads the key
 * from a file unchecked), so pvm_yaml_quote sees anything.
 *
 * No YAML parser in C here, so the checks are structural: quoting never
 * adds a line, the final_message line with the readiness marker is intact
 * and the last one, and the ISO is whole 2048-byte blocks carrying the
 * user-data unchanged. */
#define _GNU_SOURCE   /* memmem */
#include "fuzz-common.h"

#include <gio/gio.h>

#include "seed.h"
#include "validate.h"

#define ISO_BLOCK 2048
#define FINAL_LINE \
  "final_message: \"" PVM_READY_MARKER " cloud-init $VERSION finished at " \
  "$TIMESTAMP, up $UPTIME seconds\""

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  pvm_fuzz_init ();
  return 0;
}

static guint
count_lines (const char *text)
{
  guint n = 0;

  for (const char *p = text; *p != '\0'; p++)
    if (*p == '\n')
      n++;
  return n;
}

/* Valid UTF-8, no control characters but the line ends, ends with one. */
static void
check_text (const char *text)
{
  g_assert_true (g_utf8_validate (text, -1, NULL));
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      g_assert_true (c == '\n' || !g_unichar_iscntrl (c));
      g_assert_true (c != 0x2028 && c != 0x2029);
    }
  g_assert_true (g_str_has_suffix (text, "\n"));
}

static void
check_user_data (const char *user_data, const PvmSeedParams *params)
{
  /* The same seed with tame values: the line count must match. */
  const char *tame_keys[PVM_SSH_KEYS_MAX + 1] = { NULL };
  PvmSeedParams tame = { "a", "i", "u", tame_keys,
                         params->tailscale_authkey ? "k" : NULL };
  g_autofree char *reference = NULL;
  g_auto(GStrv) lines = NULL;
  guint n_lines, finals = 0;

  for (size_t i = 0; params->ssh_keys[i] != NULL; i++)
    tame_keys[i] = "k";
  reference = pvm_seed_user_data (&tame);

  check_text (user_data);
  g_assert_true (g_str_has_prefix (user_data, "#cloud-config\n"));
  g_assert_cmpuint (count_lines (user_data), ==, count_lines (reference));

  lines = g_strsplit (user_data, "\n", -1);
  n_lines = g_strv_length (lines);
  g_assert_cmpuint (n_lines, >=, 2);
  g_assert_cmpstr (lines[n_lines - 1], ==, "");
  g_assert_cmpstr (lines[n_lines - 2], ==, FINAL_LINE);
  for (guint i = 0; i < n_lines; i++)
    if (g_str_has_prefix (lines[i], "final_message"))
      finals++;
  g_assert_cmpuint (finals, ==, 1);
}

static void
check_iso (GBytes *iso, const char *user_data, const char *meta_data)
{
  gsize size = 0;
  const guchar *bytes = g_bytes_get_data (iso, &size);

  g_assert_cmpuint (size, >, 0);
  g_assert_cmpuint (size % ISO_BLOCK, ==, 0);
  /* The primary volume descriptor in block 16: "CD001", volume id cidata. */
  g_assert_cmpuint (size, >, 17 * ISO_BLOCK);
  g_assert_true (memcmp (bytes + 16 * ISO_BLOCK + 1, "CD001", 5) == 0);
  g_assert_true (memcmp (bytes + 16 * ISO_BLOCK + 40, "cidata", 6) == 0);
  /* File contents are stored whole and unchanged. */
  g_assert_nonnull (memmem (bytes, size, user_data, strlen (user_data)));
  g_assert_nonnull (memmem (bytes, size, meta_data, strlen (meta_data)));
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = pvm_fuzz_cstring (data, size);
  g_autoptr(GPtrArray) fields = g_ptr_array_new ();
  g_autoptr(GPtrArray) keys = g_ptr_array_new ();
  g_autofree char *user_data = NULL;
  g_autofree char *meta_data = NULL;
  g_autoptr(GBytes) iso = NULL;
  g_autoptr(GError) error = NULL;
  const char *authkey;
  PvmSeedParams params;

  /* Split at each NUL (text has one more after the last byte). */
  for (size_t start = 0; start <= size;)
    {
      g_ptr_array_add (fields, text + start);
      start += strlen (text + start) + 1;
    }
  if (fields->len < 3)
    return 0;
  if (!pvm_validate_name (fields->pdata[0], NULL))
    return 0;
  if (fields->len - 3 > PVM_SSH_KEYS_MAX)
    return 0;
  for (guint i = 3; i < fields->len; i++)
    {
      if (!pvm_validate_ssh_key (fields->pdata[i], NULL))
        return 0;
      g_ptr_array_add (keys, fields->pdata[i]);
    }
  g_ptr_array_add (keys, NULL);
  authkey = fields->pdata[2];

  params = (PvmSeedParams) {
    .name = fields->pdata[0],
    .instance_id = "iid-fuzz-0123456789abcdef",
    .user = fields->pdata[1],
    .ssh_keys = (const char * const *) keys->pdata,
    .tailscale_authkey = *authkey != '\0' ? authkey : NULL,
  };

  meta_data = pvm_seed_meta_data (&params);
  check_text (meta_data);
  g_assert_cmpuint (count_lines (meta_data), ==, 2);

  user_data = pvm_seed_user_data (&params);
  check_user_data (user_data, &params);

  iso = pvm_seed_build_iso (&params, &error);
  g_assert_no_error (error);
  g_assert_nonnull (iso);
  check_iso (iso, user_data, meta_data);
  return 0;
}
