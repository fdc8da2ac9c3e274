/* Unit tests for service/validate.c: names, sizes, ranges and SSH keys. */
#include <string.h>

#include <glib/gstdio.h>

#include "errors.h"
#include "validate.h"

/* Made with ssh-keygen for these tests; the private halves were thrown away. */
#define KEY_ED25519_DATA \
  "AAAAC3NzaC1lZDI1NTE5AAAAIE+iWsnNxn91y+L2kJ19odofj+aRnb1QC2CkUQfxqUub"
#define KEY_ED25519 "ssh-ed25519 " KEY_ED25519_DATA " alice@laptop"
#define KEY_RSA \
  "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC04gusxg0iCRl2elONxyphHn7jr539tpeb" \
  "TmDrI/jbAT8CA5s/59leFcLmxm785X009O3v4tvkolX+xsirT6361uFRxAGtq4k0LG8l00sd" \
  "A8NcS+STDQsCD7hCLGMcP8aI8vd9OG2Hr4qgJRq3ucTagy7XJbK4uZsoXeaEQYwSDYkZJRfx" \
  "sxLqiMOgzbjMZuECgIT2AZvzkyJzz+oM3AIdnVY+bgmTmkDb5oPkG7Rr4Ay1QoFVsHDojFCf" \
  "kT2eSM4UdjinxUbHWFKrsGbdeLrhYPovQ0SUQ8yjcQNzbC0j6XQ909dYgftWmeNSN4p/F7bD" \
  "aAcbSqqb8aH891Ao8vZ7 bob@desk"
#define KEY_ECDSA \
  "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABB" \
  "BKQtuEzqZWWk02rYD/8CXrV6aie3GzVcY5FnZh/Ih5Lz9gS3hWTqMknQp1yBFNPysBm05Cq6" \
  "49lHaVspMWl2iFA= carol"

/* Checks that error is InvalidArgument and its message contains each of
 * the NULL-terminated fragments. */
static void
assert_invalid (GError *error, ...)
{
  va_list args;
  const char *fragment;

  g_assert_error (error, PVM_ERROR, PVM_ERROR_INVALID_ARGUMENT);
  va_start (args, error);
  while ((fragment = va_arg (args, const char *)) != NULL)
    {
      if (strstr (error->message, fragment) == NULL)
        g_error ("message \"%s\" lacks \"%s\"", error->message, fragment);
    }
  va_end (args);
  /* The message goes over D-Bus as is. */
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
}

/* Logs a value escaped, so the TAP output stays one clean line. */
static void
note (const char *what, const char *value)
{
  g_autofree char *quoted = pvm_quote_value (value);

  g_test_message ("%s %s", what, quoted);
}

/* Names */

static void
test_name_good (void)
{
  const char *good[] = { "a", "web", "web-1", "a1-b2-c3", "x0", "a--b" };
  g_autofree char *longest = g_strnfill (PVM_NAME_MAX, 'a');

  for (size_t i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_true (pvm_validate_name (good[i], &error));
      g_assert_no_error (error);
    }
  g_assert_true (pvm_validate_name (longest, NULL));
}

static void
check_bad_name (const char *name)
{
  g_autoptr(GError) error = NULL;

  note ("name", name);
  g_assert_false (pvm_validate_name (name, &error));
  assert_invalid (error, "invalid VM name", "1-55 characters", NULL);
}

static void
test_name_bad (void)
{
  const char *bad[] = { "", "Foo", "WEB", "1web", "-web", "web-", "wéb",
                        "web_1", "web.example", "web 1", "web\n", "émoji😀" };

  for (size_t i = 0; i < G_N_ELEMENTS (bad); i++)
    check_bad_name (bad[i]);
  check_bad_name (NULL);
}

static void
test_name_length (void)
{
  g_autofree char *n55 = g_strnfill (55, 'b');
  g_autofree char *n56 = g_strnfill (56, 'b');
  g_autofree char *n200 = g_strnfill (200, 'b');
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) error2 = NULL;

  g_assert_true (pvm_validate_name (n55, NULL));
  g_assert_false (pvm_validate_name (n56, &error));
  assert_invalid (error, n56, NULL);
  /* The message quotes a long value cut short. */
  g_assert_false (pvm_validate_name (n200, &error2));
  assert_invalid (error2, "\"bbbbbbbbbb", "bbb\"...:", NULL);
  g_assert_cmpuint (strlen (error2->message), <, 200);
}

static void
test_name_message (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) error2 = NULL;

  g_assert_false (pvm_validate_name ("Foo", &error));
  g_assert_cmpstr (error->message, ==,
                   "invalid VM name \"Foo\": use 1-55 characters a-z, 0-9 "
                   "and '-', starting with a letter and not ending with "
                   "'-'");
  /* Non-ASCII and control bytes are escaped, not copied. */
  g_assert_false (pvm_validate_name ("a\xff\n\"b", &error2));
  assert_invalid (error2, "\"a\\377\\n\\\"b\"", NULL);
}

static void
test_object_path (void)
{
  g_autofree char *p1 = pvm_vm_object_path ("web");
  g_autofree char *p2 = pvm_vm_object_path ("my-web-1");

  g_assert_cmpstr (p1, ==, "/org/projectvm/vm/web");
  g_assert_cmpstr (p2, ==, "/org/projectvm/vm/my_web_1");
  g_assert_true (g_variant_is_object_path (p2));
}

static void
test_quote_value (void)
{
  g_autofree char *q1 = pvm_quote_value ("plain");
  g_autofree char *q2 = pvm_quote_value (NULL);
  g_autofree char *q3 = pvm_quote_value ("tab\there");
  g_autofree char *long_value = g_strnfill (200, 'z');
  g_autofree char *q4 = pvm_quote_value (long_value);

  g_assert_cmpstr (q1, ==, "\"plain\"");
  g_assert_cmpstr (q2, ==, "(null)");
  g_assert_cmpstr (q3, ==, "\"tab\\there\"");
  g_assert_cmpuint (strlen (q4), ==, 60 + 2 + 3);
  g_assert_true (g_str_has_suffix (q4, "\"..."));
}

/* Sizes */

typedef struct {
  const char *text;
  guint64 value;
} SizeCase;

static void
test_size_mib_good (void)
{
  const SizeCase cases[] = {
    { "4096", 4096 }, { "4096M", 4096 }, { "4G", 4096 }, { "4g", 4096 },
    { "512M", 512 }, { "512m", 512 }, { "1T", 1024 * 1024 },
    { "2048K", 2 }, { "4GiB", 4096 }, { "4GB", 4096 }, { "4gib", 4096 },
    { "0", 0 }, { "007", 7 }, { "0G", 0 },
    { "18446744073709551615", G_MAXUINT64 },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      guint64 mib = 1;

      note ("size", cases[i].text);
      g_assert_true (pvm_parse_size_mib (cases[i].text, &mib, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (mib, ==, cases[i].value);
    }
}

static void
check_bad_size (const char *text, gboolean gib, const char *fragment)
{
  g_autoptr(GError) error = NULL;
  guint64 out = 12345;
  gboolean ok;

  note ("size", text);
  ok = gib ? pvm_parse_size_gib (text, &out, &error)
           : pvm_parse_size_mib (text, &out, &error);
  g_assert_false (ok);
  assert_invalid (error, fragment, NULL);
  g_assert_cmpuint (out, ==, 12345);
}

static void
test_size_bad (void)
{
  const char *syntax[] = { "", " 4G", "4G ", "4 G", "4.5G", "4,5G", "-1",
                           "+4G", "4Q", "G", "4GG", "4B", "4iB", "4Gi",
                           "0x10", "4G\n", "४" /* a non-ASCII digit */ };

  for (size_t i = 0; i < G_N_ELEMENTS (syntax); i++)
    {
      check_bad_size (syntax[i], FALSE, "use a number with an optional K, "
                      "M, G or T suffix");
      check_bad_size (syntax[i], TRUE, "use a number");
    }
  check_bad_size (NULL, FALSE, "invalid size");
  check_bad_size ("1000K", FALSE, "not a whole number of MiB");
  check_bad_size ("1500M", TRUE, "not a whole number of GiB");
  check_bad_size ("50", TRUE, "not a whole number of GiB");
}

static void
test_size_overflow (void)
{
  /* Too large for both, and too large only in MiB. */
  const char *huge[] = { "18446744073709551616", "99999999999999999999999",
                         "18446744073709551615T", "18014398509481984T" };
  const char *huge_mib[] = { "17592186044416T", "18014398509481984G" };
  guint64 gib = 0;

  for (size_t i = 0; i < G_N_ELEMENTS (huge); i++)
    {
      check_bad_size (huge[i], FALSE, "is too large");
      check_bad_size (huge[i], TRUE, "is too large");
    }
  for (size_t i = 0; i < G_N_ELEMENTS (huge_mib); i++)
    {
      check_bad_size (huge_mib[i], FALSE, "is too large");
      g_assert_true (pvm_parse_size_gib (huge_mib[i], &gib, NULL));
    }
  g_assert_cmpuint (gib, ==, G_GUINT64_CONSTANT (18014398509481984));
}

static void
test_size_message (void)
{
  g_autoptr(GError) error = NULL;
  guint64 out;

  g_assert_false (pvm_parse_size_mib ("4Q", &out, &error));
  g_assert_cmpstr (error->message, ==,
                   "invalid size \"4Q\": use a number with an optional K, M, "
                   "G or T suffix");
}

static void
test_size_gib_good (void)
{
  const SizeCase cases[] = {
    { "50G", 50 }, { "50g", 50 }, { "1T", 1024 }, { "51200", 50 },
    { "51200M", 50 }, { "1024", 1 }, { "1048576K", 1 }, { "0", 0 },
    { "4TiB", 4096 },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      guint64 gib = 1;

      note ("size", cases[i].text);
      g_assert_true (pvm_parse_size_gib (cases[i].text, &gib, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (gib, ==, cases[i].value);
    }
}

/* A plain number is MiB for disks too; under 1 GiB the message says what
 * was read and, for a plain number, what was probably meant. */
static void
test_disk_size (void)
{
  const struct { const char *text; const char *message; } bad[] = {
    { "50", "disk size \"50\" is 50 MiB; the project disk must be at least "
            "1 GiB (did you mean 50G?)" },
    { "512M", "disk size \"512M\" is 512 MiB; the project disk must be at "
              "least 1 GiB" },
    { "0", "disk size \"0\" is 0 MiB; the project disk must be at least "
           "1 GiB" },
  };
  g_autoptr(GError) error = NULL;
  guint64 gib = 0;

  for (size_t i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) e = NULL;

      note ("size", bad[i].text);
      g_assert_false (pvm_parse_disk_size (bad[i].text, "disk", "the project disk",
                                           &gib, &e));
      g_assert_error (e, PVM_ERROR, PVM_ERROR_INVALID_ARGUMENT);
      g_assert_cmpstr (e->message, ==, bad[i].message);
    }
  g_assert_true (pvm_parse_disk_size ("2048", "disk", "the project disk", &gib, NULL));
  g_assert_cmpuint (gib, ==, 2);
  g_assert_true (pvm_parse_disk_size ("50G", "root", "the system disk", &gib, NULL));
  g_assert_cmpuint (gib, ==, 50);
  g_assert_false (pvm_parse_disk_size ("1500", "disk", "the project disk", &gib, &error));
  assert_invalid (error, "not a whole number of GiB", NULL);
  g_assert_false (pvm_parse_disk_size ("4X", "disk", "the project disk", &gib, NULL));
}

/* Ranges */

static void
test_memory_range (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) error2 = NULL;

  g_assert_true (pvm_validate_memory_mib (128, NULL));
  g_assert_true (pvm_validate_memory_mib (4096, NULL));
  g_assert_true (pvm_validate_memory_mib (256 * 1024, NULL));
  g_assert_false (pvm_validate_memory_mib (64, &error));
  g_assert_cmpstr (error->message, ==,
                   "memory 64 MiB is out of range (128 MiB to 256 GiB)");
  g_assert_false (pvm_validate_memory_mib (256 * 1024 + 1, &error2));
  assert_invalid (error2, "262145 MiB", NULL);
  g_assert_false (pvm_validate_memory_mib (0, NULL));
  g_assert_false (pvm_validate_memory_mib (G_MAXUINT64, NULL));
}

static void
test_cpus_range (void)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (pvm_validate_cpus (1, NULL));
  g_assert_true (pvm_validate_cpus (64, NULL));
  g_assert_false (pvm_validate_cpus (65, NULL));
  g_assert_false (pvm_validate_cpus (G_MAXUINT32, NULL));
  g_assert_false (pvm_validate_cpus (0, &error));
  assert_invalid (error, "0 CPUs", "(1 to 64)", NULL);
}

static void
test_disk_range (void)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (pvm_validate_disk_gib (1, NULL));
  g_assert_true (pvm_validate_disk_gib (50, NULL));
  g_assert_true (pvm_validate_disk_gib (4096, NULL));
  g_assert_false (pvm_validate_disk_gib (0, NULL));
  g_assert_false (pvm_validate_disk_gib (4097, &error));
  assert_invalid (error, "4097 GiB", "(1 GiB to 4 TiB)", NULL);
}

/* SSH keys */

static void
test_ssh_key_good (void)
{
  const char *good[] = {
    KEY_ED25519,
    KEY_RSA,
    KEY_ECDSA,
    "ssh-ed25519 " KEY_ED25519_DATA,                    /* no comment */
    "ssh-ed25519 " KEY_ED25519_DATA " José's laptop (work)",
    "ssh-ed25519  " KEY_ED25519_DATA "  two  spaces",
  };

  for (size_t i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr(GError) error = NULL;

      note ("key", good[i]);
      g_assert_true (pvm_validate_ssh_key (good[i], &error));
      g_assert_no_error (error);
    }
}

/* Fresh keys of each kind ssh-keygen makes, as a user's .pub file has them
 * (the client strips the line break). */
static void
test_ssh_key_keygen (void)
{
  const char *kinds[][2] = { { "ed25519", "256" }, { "rsa", "2048" },
                             { "ecdsa", "256" }, { "ecdsa", "384" },
                             { "ecdsa", "521" } };
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = NULL;

  if (!g_file_test ("/usr/bin/ssh-keygen", G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip ("/usr/bin/ssh-keygen is not installed");
      return;
    }
  tmp = g_dir_make_tmp ("test-validate-XXXXXX", &error);
  g_assert_no_error (error);
  for (size_t i = 0; i < G_N_ELEMENTS (kinds); i++)
    {
      g_autofree char *key = g_build_filename (tmp, "key", NULL);
      g_autofree char *pub = g_strconcat (key, ".pub", NULL);
      const char *argv[] = { "/usr/bin/ssh-keygen", "-q", "-t", kinds[i][0],
                             "-b", kinds[i][1], "-N", "", "-C", "test key",
                             "-f", key, NULL };
      g_autofree char *line = NULL;
      g_autoptr(GError) key_error = NULL;
      int status = -1;

      g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                    NULL, NULL, &status, &key_error);
      g_assert_no_error (key_error);
      g_assert_true (g_spawn_check_wait_status (status, NULL));
      g_file_get_contents (pub, &line, NULL, &key_error);
      g_assert_no_error (key_error);
      g_strchomp (line);
      note ("key", line);
      g_assert_true (pvm_validate_ssh_key (line, &key_error));
      g_assert_no_error (key_error);
      g_assert_cmpint (g_remove (key), ==, 0);
      g_assert_cmpint (g_remove (pub), ==, 0);
    }
  g_assert_cmpint (g_rmdir (tmp), ==, 0);
}

static void
check_bad_key (const char *line, const char *fragment)
{
  g_autoptr(GError) error = NULL;

  note ("key", line);
  g_assert_false (pvm_validate_ssh_key (line, &error));
  assert_invalid (error, "SSH key", fragment, NULL);
}

/* Base64 of SSH strings (4-byte big-endian length, then the bytes), for
 * key types ssh-keygen here cannot make and for broken blobs. */
static char *
make_blob (const char *first, ...)
{
  g_autoptr(GByteArray) blob = g_byte_array_new ();
  va_list args;

  va_start (args, first);
  for (const char *s = first; s != NULL; s = va_arg (args, const char *))
    {
      guint32 len = GUINT32_TO_BE ((guint32) strlen (s));

      g_byte_array_append (blob, (const guint8 *) &len, 4);
      g_byte_array_append (blob, (const guint8 *) s, (guint) strlen (s));
    }
  va_end (args);
  return g_base64_encode (blob->data, blob->len);
}

static void
test_ssh_key_crafted (void)
{
  const char *types[] = { "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
                          "sk-ssh-ed25519@openssh.com",
                          "sk-ecdsa-sha2-nistp256@openssh.com" };

  for (size_t i = 0; i < G_N_ELEMENTS (types); i++)
    {
      g_autofree char *blob = make_blob (types[i], "key material",
                                         "ssh:", NULL);
      g_autofree char *line = g_strdup_printf ("%s %s yubikey", types[i],
                                               blob);
      g_autoptr(GError) error = NULL;

      g_assert_true (pvm_validate_ssh_key (line, &error));
      g_assert_no_error (error);
    }
}

static void
test_ssh_key_bad_type (void)
{
  check_bad_key ("ssh-dss AAAAB3NzaC1kc3MAAACBAP8= old", "ssh-dss");
  check_bad_key ("ssh-foo " KEY_ED25519_DATA, "unknown key type");
  check_bad_key ("SSH-ED25519 " KEY_ED25519_DATA, "unknown key type");
  check_bad_key ("no-pty,command=\"/bin/true\" " KEY_ED25519, "options");
  check_bad_key ("restrict " KEY_ED25519, "options");
  check_bad_key (KEY_ED25519_DATA, "incomplete");
  check_bad_key (" " KEY_ED25519, "incomplete");
  check_bad_key ("", "empty");
  check_bad_key (NULL, "empty");
}

static void
test_ssh_key_bad_data (void)
{
  g_autofree char *only_type = make_blob ("ssh-ed25519", NULL);
  g_autofree char *line_only_type = g_strconcat ("ssh-ed25519 ", only_type,
                                                 NULL);
  g_autofree char *short_len = make_blob ("ssh-ed2551", "9xxxxxxxxxx", NULL);
  g_autofree char *line_short_len = g_strconcat ("ssh-ed25519 ", short_len,
                                                 NULL);

  check_bad_key ("ssh-ed25519", "incomplete");
  check_bad_key ("ssh-ed25519 ", "not valid base64");
  check_bad_key ("ssh-ed25519 AAAA*AAA", "not valid base64");
  /* Cut short at a multiple of 4: valid base64, but the key is cut. */
  check_bad_key ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE+iWsnNxn91y+L2",
                 "not a ssh-ed25519 key");
  check_bad_key ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5A", "not valid base64");
  check_bad_key ("ssh-ed25519 AAAA=AAA", "not valid base64");
  check_bad_key ("ssh-ed25519 AA==AAAA", "not valid base64");
  check_bad_key ("ssh-ed25519 A===", "not valid base64");
  /* The blob says ed25519 but the line says rsa, and the reverse. */
  check_bad_key ("ssh-rsa " KEY_ED25519_DATA, "not a ssh-rsa key");
  check_bad_key ("ecdsa-sha2-nistp384 " KEY_ED25519_DATA, "not a ecdsa");
  check_bad_key ("ssh-ed25519 AAAA", "not a ssh-ed25519 key");
  check_bad_key (line_only_type, "not a ssh-ed25519 key");
  check_bad_key (line_short_len, "not a ssh-ed25519 key");
}

static void
test_ssh_key_bad_chars (void)
{
  g_autofree char *too_long = NULL;
  g_autofree char *padding = g_strnfill (PVM_SSH_KEY_LINE_MAX, 'x');

  check_bad_key (KEY_ED25519 "\n", "control characters");
  check_bad_key (KEY_ED25519 "\nssh-ed25519 " KEY_ED25519_DATA,
                 "control characters");
  check_bad_key (KEY_ED25519 "\r", "control characters");
  check_bad_key (KEY_ED25519 " a\tb", "control characters");
  check_bad_key (KEY_ED25519 " bell\a", "control characters");
  check_bad_key (KEY_ED25519 " del\x7f", "control characters");
  check_bad_key (KEY_ED25519 " c1\xc2\x85", "control characters");
  check_bad_key (KEY_ED25519 " ls\xe2\x80\xa8", "control characters");
  check_bad_key (KEY_ED25519 " bad\xff", "not valid UTF-8");

  too_long = g_strconcat (KEY_ED25519, " ", padding, NULL);
  check_bad_key (too_long, "too long");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/validate/name/good", test_name_good);
  g_test_add_func ("/validate/name/bad", test_name_bad);
  g_test_add_func ("/validate/name/length", test_name_length);
  g_test_add_func ("/validate/name/message", test_name_message);
  g_test_add_func ("/validate/object-path", test_object_path);
  g_test_add_func ("/validate/quote-value", test_quote_value);
  g_test_add_func ("/validate/size/mib-good", test_size_mib_good);
  g_test_add_func ("/validate/size/gib-good", test_size_gib_good);
  g_test_add_func ("/validate/size/bad", test_size_bad);
  g_test_add_func ("/validate/size/overflow", test_size_overflow);
  g_test_add_func ("/validate/size/message", test_size_message);
  g_test_add_func ("/validate/size/disk", test_disk_size);
  g_test_add_func ("/validate/range/memory", test_memory_range);
  g_test_add_func ("/validate/range/cpus", test_cpus_range);
  g_test_add_func ("/validate/range/disk", test_disk_range);
  g_test_add_func ("/validate/ssh-key/good", test_ssh_key_good);
  g_test_add_func ("/validate/ssh-key/keygen", test_ssh_key_keygen);
  g_test_add_func ("/validate/ssh-key/crafted", test_ssh_key_crafted);
  g_test_add_func ("/validate/ssh-key/bad-type", test_ssh_key_bad_type);
  g_test_add_func ("/validate/ssh-key/bad-data", test_ssh_key_bad_data);
  g_test_add_func ("/validate/ssh-key/bad-chars", test_ssh_key_bad_chars);

  return g_test_run ();
}
