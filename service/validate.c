#include "validate.h"

#include <string.h>

#include "errors.h"

/* Error messages quote at most this many bytes of a client's value, so that
 * a huge or hostile value cannot flood a log line or a terminal. */
#define QUOTE_MAX_BYTES 60

#define NAME_RULE \
  "use 1-55 characters a-z, 0-9 and '-', starting with a letter and not " \
  "ending with '-'"
#define SIZE_RULE "use a number with an optional K, M, G or T suffix"
#define SSH_KEY_FORM "TYPE BASE64 [COMMENT]"

char *
pvm_quote_value (const char *text)
{
  g_autofree char *head = NULL;
  g_autofree char *escaped = NULL;
  gboolean cut;

  if (text == NULL)
    return g_strdup ("(null)");

  cut = strlen (text) > QUOTE_MAX_BYTES;
  head = g_strndup (text, QUOTE_MAX_BYTES);
  /* g_strescape leaves only printable ASCII, so the message stays valid
   * UTF-8 for D-Bus even when the value is not. */
  escaped = g_strescape (head, NULL);
  return g_strdup_printf ("\"%s\"%s", escaped, cut ? "..." : "");
}

static gboolean
invalid (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
invalid (GError **error, const char *format, ...)
{
  va_list args;

  if (error != NULL)
    {
      va_start (args, format);
      *error = g_error_new_valist (PVM_ERROR, PVM_ERROR_INVALID_ARGUMENT,
                                   format, args);
      va_end (args);
    }
  return FALSE;
}

/* VM names */

static gboolean
name_char_ok (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

gboolean
pvm_validate_name (const char *name, GError **error)
{
  size_t len = name != NULL ? strlen (name) : 0;
  gboolean ok = len >= 1 && len <= PVM_NAME_MAX
                && name[0] >= 'a' && name[0] <= 'z'
                && name[len - 1] != '-';

  for (size_t i = 0; ok && i < len; i++)
    ok = name_char_ok (name[i]);

  if (!ok)
    {
      g_autofree char *quoted = pvm_quote_value (name != NULL ? name : "");

      return invalid (error, "invalid VM name %s: " NAME_RULE, quoted);
    }
  return TRUE;
}

char *
pvm_vm_object_path (const char *name)
{
  g_autofree char *element = g_strdup (name);

  g_strdelimit (element, "-", '_');
  return g_strconcat ("/org/projectvm/vm/", element, NULL);
}

/* Sizes */

/* Powers of 1024 above KiB. */
enum { UNIT_K = 0, UNIT_M = 1, UNIT_G = 2, UNIT_T = 3 };

static int
unit_from_char (char c)
{
  switch (g_ascii_tolower (c))
    {
    case 'k': return UNIT_K;
    case 'm': return UNIT_M;
    case 'g': return UNIT_G;
    case 't': return UNIT_T;
    default: return -1;
    }
}

/* Splits "DIGITS[UNIT[B|iB]]" into a number and a unit; default_unit applies
 * without a unit letter. Anything else (signs, spaces, decimals, empty) is
 * refused, so the caller never guesses what the user meant. */
static gboolean
split_size (const char *text, int default_unit, guint64 *number, int *unit,
            gboolean *overflow)
{
  const char *p = text;
  guint64 n = 0;

  *overflow = FALSE;
  if (!g_ascii_isdigit (*p))
    return FALSE;
  for (; g_ascii_isdigit (*p); p++)
    {
      guint digit = (guint) (*p - '0');

      if (n > (G_MAXUINT64 - digit) / 10)
        *overflow = TRUE;
      else
        n = n * 10 + digit;
    }

  *unit = default_unit;
  if (*p != '\0')
    {
      *unit = unit_from_char (*p);
      if (*unit < 0)
        return FALSE;
      p++;
      if (*p != '\0' && g_ascii_strcasecmp (p, "b") != 0
          && g_ascii_strcasecmp (p, "ib") != 0)
        return FALSE;
    }
  *number = n;
  return TRUE;
}

/* Converts number * 1024^unit to 1024^target units. */
static gboolean
scale_size (guint64 number, int unit, int target, guint64 *out,
            gboolean *whole)
{
  *whole = TRUE;
  for (; unit > target; unit--)
    {
      if (number > G_MAXUINT64 / 1024)
        return FALSE;
      number *= 1024;
    }
  for (; unit < target; unit++)
    {
      if (number % 1024 != 0)
        *whole = FALSE;
      number /= 1024;
    }
  *out = number;
  return TRUE;
}

/* TEXT in 1024^TARGET units; a plain number is in 1024^DEFAULT_UNIT. */
static gboolean
parse_size (const char *text, int default_unit, int target,
            const char *target_name, guint64 *out, GError **error)
{
  g_autofree char *quoted = pvm_quote_value (text != NULL ? text : "");
  guint64 number = 0, result = 0;
  int unit = default_unit;
  gboolean overflow, whole;

  if (text == NULL || !split_size (text, default_unit, &number, &unit,
                                   &overflow))
    return invalid (error, "invalid size %s: " SIZE_RULE, quoted);
  if (overflow || !scale_size (number, unit, target, &result, &whole))
    return invalid (error, "size %s is too large", quoted);
  if (!whole)
    return invalid (error, "size %s is not a whole number of %s", quoted,
                    target_name);
  *out = result;
  return TRUE;
}

gboolean
pvm_parse_size_mib (const char *text, guint64 *out_mib, GError **error)
{
  return parse_size (text, UNIT_M, UNIT_M, "MiB", out_mib, error);
}

gboolean
pvm_parse_size_gib (const char *text, guint64 *out_gib, GError **error)
{
  return parse_size (text, UNIT_M, UNIT_G, "GiB", out_gib, error);
}

static gboolean
all_digits (const char *text)
{
  for (const char *p = text; *p != '\0'; p++)
    if (!g_ascii_isdigit (*p))
      return FALSE;
  return *text != '\0';
}

gboolean
pvm_parse_disk_size (const char *text, const char *what, const char *disk,
                     guint64 *out_gib, GError **error)
{
  guint64 mib = 0;

  if (text != NULL && pvm_parse_size_mib (text, &mib, NULL)
      && mib < 1024 * PVM_DISK_GIB_MIN)
    {
      g_autofree char *quoted = pvm_quote_value (text);
      /* A plain "50" for a disk nearly always meant 50G: the old reading. */
      gboolean hint = mib > 0 && all_digits (text);

      return invalid (error, "%s size %s is %" G_GUINT64_FORMAT " MiB; %s "
                      "must be at least %d GiB%s%s%s", what, quoted, mib,
                      disk, PVM_DISK_GIB_MIN, hint ? " (did you mean " : "",
                      hint ? text : "", hint ? "G?)" : "");
    }
  return pvm_parse_size_gib (text, out_gib, error);
}

/* Ranges */

gboolean
pvm_validate_memory_mib (guint64 mib, GError **error)
{
  if (mib < PVM_MEMORY_MIB_MIN || mib > PVM_MEMORY_MIB_MAX)
    return invalid (error,
                    "memory %" G_GUINT64_FORMAT " MiB is out of range "
                    "(%d MiB to %d GiB)", mib, PVM_MEMORY_MIB_MIN,
                    PVM_MEMORY_MIB_MAX / 1024);
  return TRUE;
}

gboolean
pvm_validate_cpus (guint32 cpus, GError **error)
{
  if (cpus < PVM_CPUS_MIN || cpus > PVM_CPUS_MAX)
    return invalid (error, "%u CPUs is out of range (%d to %d)", cpus,
                    PVM_CPUS_MIN, PVM_CPUS_MAX);
  return TRUE;
}

gboolean
pvm_validate_disk_gib (guint64 gib, GError **error)
{
  if (gib < PVM_DISK_GIB_MIN || gib > PVM_DISK_GIB_MAX)
    return invalid (error,
                    "disk size %" G_GUINT64_FORMAT " GiB is out of range "
                    "(%d GiB to %d TiB)", gib, PVM_DISK_GIB_MIN,
                    PVM_DISK_GIB_MAX / 1024);
  return TRUE;
}

/* SSH keys */

static const char * const ssh_key_types[] = {
  "ssh-ed25519",
  "ssh-rsa",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "sk-ssh-ed25519@openssh.com",
  "sk-ecdsa-sha2-nistp256@openssh.com",
};

static gboolean
ssh_key_type_known (const char *type)
{
  for (size_t i = 0; i < G_N_ELEMENTS (ssh_key_types); i++)
    if (strcmp (type, ssh_key_types[i]) == 0)
      return TRUE;
  return FALSE;
}

/* Control characters, C1 controls and line or paragraph separators would
 * break the YAML, the authorized_keys file or a terminal. */
static gboolean
has_control_chars (const char *text)
{
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_iscntrl (c) || c == 0x2028 || c == 0x2029)
        return TRUE;
    }
  return FALSE;
}

static gboolean
base64_char_ok (char c)
{
  return g_ascii_isalnum (c) || c == '+' || c == '/';
}

/* g_base64_decode skips what it does not know; this insists on the exact
 * alphabet, padding only at the end and a length that is a multiple of 4. */
static gboolean
base64_strict_ok (const char *text, size_t len)
{
  size_t pad = 0;

  if (len == 0 || len % 4 != 0)
    return FALSE;
  while (pad < 2 && text[len - 1 - pad] == '=')
    pad++;
  for (size_t i = 0; i < len - pad; i++)
    if (!base64_char_ok (text[i]))
      return FALSE;
  return TRUE;
}

static guint32
read_be32 (const guchar *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16)
         | ((guint32) p[2] << 8) | (guint32) p[3];
}

/* A public key blob is a run of SSH strings (4-byte big-endian length, then
 * the bytes) that fills it exactly: the key type, then the key material
 * (two to three more for every known type). The first must be the type of
 * the line; a cut or padded blob does not parse. */
static gboolean
blob_matches_type (const char *base64, size_t base64_len, const char *type)
{
  g_autofree char *text = g_strndup (base64, base64_len);
  g_autofree guchar *blob = NULL;
  size_t blob_len = 0, pos = 0, fields = 0;
  size_t type_len = strlen (type);

  blob = g_base64_decode (text, &blob_len);
  if (blob_len < 4 || read_be32 (blob) != type_len || blob_len < 4 + type_len
      || memcmp (blob + 4, type, type_len) != 0)
    return FALSE;
  while (pos < blob_len)
    {
      guint32 len;

      if (blob_len - pos < 4)
        return FALSE;
      len = read_be32 (blob + pos);
      if (len > blob_len - pos - 4)
        return FALSE;
      pos += 4 + (size_t) len;
      fields++;
    }
  return fields >= 2;
}

/* Something like `no-pty,command="x" ssh-ed25519 AAAA...`: an options
 * prefix from an authorized_keys file rather than a public key. */
static gboolean
looks_like_options (const char *line)
{
  g_auto(GStrv) words = g_strsplit (line, " ", -1);

  for (size_t i = 1; words[i] != NULL; i++)
    if (ssh_key_type_known (words[i]))
      return TRUE;
  return FALSE;
}

static gboolean
check_ssh_key_type (const char *line, const char *type, const char *quoted,
                    GError **error)
{
  if (ssh_key_type_known (type))
    return TRUE;
  if (strcmp (type, "ssh-dss") == 0)
    return invalid (error, "SSH key %s is a DSA (ssh-dss) key, which OpenSSH "
                    "no longer accepts: use an ed25519, ECDSA or RSA key",
                    quoted);
  if (looks_like_options (line))
    return invalid (error, "SSH key %s starts with authorized_keys options: "
                    "give only " SSH_KEY_FORM, quoted);
  return invalid (error, "SSH key %s has an unknown key type: use one of "
                  "ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256/384/521, "
                  "sk-ssh-ed25519@openssh.com or "
                  "sk-ecdsa-sha2-nistp256@openssh.com", quoted);
}

gboolean
pvm_validate_ssh_key (const char *line, GError **error)
{
  g_autofree char *quoted = pvm_quote_value (line != NULL ? line : "");
  g_autofree char *type = NULL;
  const char *space, *data, *data_end;
  size_t len;

  if (line == NULL || *line == '\0')
    return invalid (error, "SSH key \"\" is empty: use " SSH_KEY_FORM);
  len = strlen (line);
  if (len > PVM_SSH_KEY_LINE_MAX)
    return invalid (error, "SSH key %s is too long (%zu bytes, at most %d)",
                    quoted, len, PVM_SSH_KEY_LINE_MAX);
  if (!g_utf8_validate (line, len, NULL))
    return invalid (error, "SSH key %s is not valid UTF-8", quoted);
  if (has_control_chars (line))
    return invalid (error, "SSH key %s contains control characters (such as "
                    "a line break): give one key line", quoted);

  space = strchr (line, ' ');
  if (space == NULL || space == line)
    return invalid (error, "SSH key %s is incomplete: use " SSH_KEY_FORM,
                    quoted);
  type = g_strndup (line, (size_t) (space - line));
  if (!check_ssh_key_type (line, type, quoted, error))
    return FALSE;

  for (data = space; *data == ' '; data++)
    ;
  data_end = strchr (data, ' ');
  if (data_end == NULL)
    data_end = data + strlen (data);
  if (!base64_strict_ok (data, (size_t) (data_end - data)))
    return invalid (error, "SSH key %s: the key data is not valid base64",
                    quoted);
  if (!blob_matches_type (data, (size_t) (data_end - data), type))
    return invalid (error, "SSH key %s: the key data is not a %s key", quoted,
                    type);
  return TRUE;
}
