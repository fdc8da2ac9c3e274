/* Unit tests for service/seed.c: YAML quoting, the seed files and the ISO. */
#include <string.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "errors.h"
#include "seed.h"

#define KEY_ED25519 \
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE+iWsnNxn91y+L2kJ19odofj+aRnb1QC2Ck" \
  "UQfxqUub alice@laptop"
/* A comment with characters that need quoting in YAML. */
#define KEY_TRICKY \
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE+iWsnNxn91y+L2kJ19odofj+aRnb1QC2Ck" \
  "UQfxqUub bob \"the\" \\admin\\ #1: {x}, [y] & *z 'q' José"

static const char * const test_keys[] = { KEY_ED25519, KEY_TRICKY, NULL };

static PvmSeedParams
test_params (const char *tailscale_authkey)
{
  PvmSeedParams params = {
    .name = "web-1",
    .instance_id = "iid-web-1-0123456789abcdef",
    .user = "dev",
    .ssh_keys = test_keys,
    .tailscale_authkey = tailscale_authkey,
  };

  return params;
}

/* Python with PyYAML, to check the output with a real YAML parser. */
static gboolean
have_pyyaml (void)
{
  static int have = -1;

  if (have < 0)
    {
      const char *argv[] = { "/usr/bin/python3", "-c", "import yaml", NULL };
      int status = 1;

      have = g_file_test (argv[0], G_FILE_TEST_IS_EXECUTABLE)
             && g_spawn_sync (NULL, (char **) argv, NULL,
                              G_SPAWN_STDOUT_TO_DEV_NULL
                              | G_SPAWN_STDERR_TO_DEV_NULL,
                              NULL, NULL, NULL, NULL, &status, NULL)
             && g_spawn_check_wait_status (status, NULL);
    }
  return have;
}

/* Runs a Python snippet with text on its standard input; returns stdout. */
static char *
run_python (const char *script, const char *input)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  proc = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE
                           | G_SUBPROCESS_FLAGS_STDOUT_PIPE
                           | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                           &error, "/usr/bin/python3", "-c", script, NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (proc, input, NULL, &out, &err, &error);
  g_assert_no_error (error);
  if (!g_subprocess_get_successful (proc))
    g_error ("python failed: %s", err);
  return g_steal_pointer (&out);
}

/* pvm_yaml_quote */

typedef struct {
  const char *in;
  const char *out;
} QuoteCase;

static const QuoteCase quote_cases[] = {
  { "", "\"\"" },
  { "plain", "\"plain\"" },
  { "a\"b\\c", "\"a\\\"b\\\\c\"" },
  { "l1\nl2\tx\r", "\"l1\\nl2\\tx\\r\"" },
  { "\x01\x1b\x7f", "\"\\x01\\x1B\\x7F\"" },
  { "key: value # not a comment", "\"key: value # not a comment\"" },
  { "- [a, {b: c}] &x *y !z | > % @ `", "\"- [a, {b: c}] &x *y !z | > % @ `\"" },
  { "'single'", "\"'single'\"" },
  { "José 😀 ½", "\"José 😀 ½\"" },
  { "nel\xc2\x85", "\"nel\\x85\"" },
  { "c1\xc2\x9f", "\"c1\\x9F\"" },
  { "nbsp\xc2\xa0", "\"nbsp\xc2\xa0\"" },
  { "ls\xe2\x80\xa8ps\xe2\x80\xa9", "\"ls\\u2028ps\\u2029\"" },
  { "\xef\xbb\xbf" "bom", "\"\\uFEFFbom\"" },
  { "no\xef\xbf\xbf", "\"no\\uFFFF\"" },
  { "true", "\"true\"" },
  { "~", "\"~\"" },
  { "0600", "\"0600\"" },
};

static void
test_quote_exact (void)
{
  g_autofree char *null_quoted = pvm_yaml_quote (NULL);

  for (size_t i = 0; i < G_N_ELEMENTS (quote_cases); i++)
    {
      g_autofree char *quoted = pvm_yaml_quote (quote_cases[i].in);

      g_assert_cmpstr (quoted, ==, quote_cases[i].out);
      g_assert_true (g_utf8_validate (quoted, -1, NULL));
    }
  g_assert_cmpstr (null_quoted, ==, "\"\"");
}

static void
test_quote_invalid_utf8 (void)
{
  g_autofree char *q1 = pvm_yaml_quote ("a\xff" "b");
  g_autofree char *q2 = pvm_yaml_quote ("\xc3");           /* cut short */
  g_autofree char *q3 = pvm_yaml_quote ("\xc0\xaf");       /* overlong '/' */
  g_autofree char *q4 = pvm_yaml_quote ("\xed\xa0\x80");   /* surrogate */

  g_assert_cmpstr (q1, ==, "\"a\\uFFFDb\"");
  g_assert_cmpstr (q2, ==, "\"\\uFFFD\"");
  g_assert_cmpstr (q3, ==, "\"\\uFFFD\\uFFFD\"");
  g_assert_cmpstr (q4, ==, "\"\\uFFFD\\uFFFD\\uFFFD\"");
}

/* Every value a YAML parser reads back is the string that went in. */
static void
test_quote_roundtrip (void)
{
  const char *script =
    "import sys, yaml\n"
    "for v in yaml.safe_load(sys.stdin.read()):\n"
    "    print(v.encode('utf-8').hex())\n";
  g_autoptr(GString) doc = g_string_new ("");
  g_autoptr(GString) expected = g_string_new ("");
  g_autofree char *all_bytes = g_malloc (128);
  g_autofree char *out = NULL;

  if (!have_pyyaml ())
    {
      g_test_skip ("/usr/bin/python3 with PyYAML is not available");
      return;
    }
  /* Every ASCII character, and the cases above. */
  for (int c = 1; c < 128; c++)
    all_bytes[c - 1] = (char) c;
  all_bytes[127] = '\0';
  for (size_t i = 0; i <= G_N_ELEMENTS (quote_cases); i++)
    {
      const char *in = i < G_N_ELEMENTS (quote_cases) ? quote_cases[i].in
                                                       : all_bytes;
      g_autofree char *quoted = pvm_yaml_quote (in);

      g_string_append_printf (doc, "- %s\n", quoted);
      for (const char *p = in; *p != '\0'; p++)
        g_string_append_printf (expected, "%02x", (guchar) *p);
      g_string_append_c (expected, '\n');
    }
  out = run_python (script, doc->str);
  g_assert_cmpstr (out, ==, expected->str);
}

/* meta-data and network-config */

static void
test_meta_data (void)
{
  PvmSeedParams params = test_params (NULL);
  g_autofree char *meta_data = pvm_seed_meta_data (&params);

  g_assert_cmpstr (meta_data, ==,
                   "instance-id: \"iid-web-1-0123456789abcdef\"\n"
                   "local-hostname: \"project-web-1\"\n");
}

static void
test_network_config (void)
{
  PvmSeedParams params = test_params (NULL);
  g_autofree char *config = pvm_seed_network_config (&params);
  g_auto(GStrv) lines = g_strsplit (config, "\n", -1);

  /* Only comments: loads as nothing, so cloud-init uses its fallback. */
  for (size_t i = 0; lines[i] != NULL; i++)
    g_assert_true (lines[i][0] == '\0' || lines[i][0] == '#');
}

/* user-data */

static void
assert_contains (const char *haystack, const char *needle)
{
  if (strstr (haystack, needle) == NULL)
    g_error ("missing:\n%s\nin:\n%s", needle, haystack);
}

static guint
count_matches (const char *pattern, const char *text)
{
  g_autoptr(GRegex) regex = g_regex_new (pattern, G_REGEX_MULTILINE, 0, NULL);
  g_autoptr(GMatchInfo) info = NULL;
  guint n = 0;

  g_assert_nonnull (regex);
  for (g_regex_match (regex, text, 0, &info); g_match_info_matches (info);
       g_match_info_next (info, NULL))
    n++;
  return n;
}

static void
test_user_data (void)
{
  PvmSeedParams params = test_params (NULL);
  g_autofree char *ud = pvm_seed_user_data (&params);

  g_assert_true (g_str_has_prefix (ud, "#cloud-config\n"));
  assert_contains (ud, "\nhostname: \"project-web-1\"\n");
  assert_contains (ud, "\npreserve_hostname: false\n");
  assert_contains (ud,
                   "\nusers:\n"
                   "  - name: \"dev\"\n"
                   "    sudo: \"ALL=(ALL) NOPASSWD:ALL\"\n"
                   "    shell: /bin/bash\n"
                   "    lock_passwd: true\n"
                   "    ssh_authorized_keys:\n"
                   "      - \"" KEY_ED25519 "\"\n"
                   "      - \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE+iWsnNxn9"
                   "1y+L2kJ19odofj+aRnb1QC2CkUQfxqUub bob \\\"the\\\" "
                   "\\\\admin\\\\ #1: {x}, [y] & *z 'q' José\"\n");
  assert_contains (ud,
                   "\ndisk_setup:\n"
                   "  /dev/disk/by-id/virtio-project:\n"
                   "    table_type: gpt\n"
                   "    layout: true\n"
                   "    overwrite: false\n"
                   "fs_setup:\n"
                   "  - label: project\n"
                   "    filesystem: ext4\n"
                   "    device: /dev/disk/by-id/virtio-project\n"
                   "    partition: auto\n"
                   "    overwrite: false\n");
  assert_contains (ud,
                   "\nmounts:\n"
                   "  - [\"LABEL=project\", \"/home/dev/project\", \"ext4\", "
                   "\"defaults,nofail\", \"0\", \"2\"]\n");
  assert_contains (ud,
                   "\nruncmd:\n"
                   "  - [chown, \"--\", \"dev:\", \"/home/dev\", "
                   "\"/home/dev/project\"]\n");
  /* One mount of the project disk, or two fsck runs clash. */
  g_assert_cmpuint (count_matches ("LABEL=project", ud), ==, 1);
  /* The marker line, as the test guest's sed and the service see it. */
  g_assert_cmpuint (count_matches ("^final_message: \".*" PVM_READY_MARKER
                                   ".*\"$", ud), ==, 1);
  g_assert_cmpuint (count_matches (PVM_READY_MARKER, ud), ==, 1);
  g_assert_null (strstr (ud, "tailscale"));
  g_assert_null (strstr (ud, "write_files"));
  g_assert_true (g_utf8_validate (ud, -1, NULL));
}

static void
test_user_data_tailscale (void)
{
  PvmSeedParams params = test_params ("tskey-auth-k123\"x\\y");
  g_autofree char *ud = pvm_seed_user_data (&params);

  assert_contains (ud,
                   "\nwrite_files:\n"
                   "  - path: /etc/project-vm/tailscale-authkey\n"
                   "    owner: \"root:root\"\n"
                   "    permissions: '0600'\n"
                   "    content: \"tskey-auth-k123\\\"x\\\\y\"\n");
  assert_contains (ud,
                   "\n  - [sh, -c, \"if command -v tailscale >/dev/null; then "
                   "tailscale up --auth-key=file:/etc/project-vm/"
                   "tailscale-authkey; fi\"]\n");
  g_assert_cmpuint (count_matches ("^final_message: \".*" PVM_READY_MARKER
                                   ".*\"$", ud), ==, 1);
}

static void
test_user_data_no_keys (void)
{
  PvmSeedParams params = test_params (NULL);
  g_autofree char *ud = NULL;

  params.ssh_keys = NULL;
  ud = pvm_seed_user_data (&params);
  assert_contains (ud, "\n    ssh_authorized_keys: []\n");
}

/* The user-data as cloud-init's YAML loader sees it. */
static void
test_user_data_parsed (void)
{
  const char *script =
    "import sys, yaml\n"
    "d = yaml.safe_load(sys.stdin.read())\n"
    "u = d['users'][0]\n"
    "assert d['hostname'] == 'project-web-1'\n"
    "assert d['preserve_hostname'] is False\n"
    "assert u['name'] == 'dev' and u['lock_passwd'] is True\n"
    "assert u['sudo'] == 'ALL=(ALL) NOPASSWD:ALL'\n"
    "assert d['disk_setup']['/dev/disk/by-id/virtio-project'] == "
    "{'table_type': 'gpt', 'layout': True, 'overwrite': False}\n"
    "assert d['fs_setup'] == [{'label': 'project', 'filesystem': 'ext4', "
    "'device': '/dev/disk/by-id/virtio-project', 'partition': 'auto', "
    "'overwrite': False}]\n"
    "assert d['mounts'] == [['LABEL=project', '/home/dev/project', 'ext4', "
    "'defaults,nofail', '0', '2']]\n"
    "assert d['runcmd'][0] == ['chown', '--', 'dev:', '/home/dev', "
    "'/home/dev/project']\n"
    "assert d['runcmd'][1][:2] == ['sh', '-c']\n"
    "f = d['write_files'][0]\n"
    "assert f['permissions'] == '0600'\n"
    "print(f['content'])\n"
    "print(d['final_message'])\n"
    "for k in u['ssh_authorized_keys']:\n"
    "    print(k)\n";
  PvmSeedParams params = test_params ("tskey-auth-k123");
  g_autofree char *ud = pvm_seed_user_data (&params);
  g_autofree char *out = NULL;

  if (!have_pyyaml ())
    {
      g_test_skip ("/usr/bin/python3 with PyYAML is not available");
      return;
    }
  out = run_python (script, ud);
  g_assert_cmpstr (out, ==,
                   "tskey-auth-k123\n"
                   PVM_READY_MARKER " cloud-init $VERSION finished at "
                   "$TIMESTAMP, up $UPTIME seconds\n"
                   KEY_ED25519 "\n" KEY_TRICKY "\n");
}

/* The ISO image */

static GBytes *
build_iso (void)
{
  PvmSeedParams params = test_params ("tskey-auth-k123");
  g_autoptr(GError) error = NULL;
  GBytes *iso = pvm_seed_build_iso (&params, &error);

  g_assert_no_error (error);
  g_assert_nonnull (iso);
  return iso;
}

static void
test_iso_layout (void)
{
  g_autoptr(GBytes) iso = build_iso ();
  gsize size = 0;
  const char *data = g_bytes_get_data (iso, &size);
  g_autofree char *volume_id = NULL;

  g_assert_cmpuint (size % 2048, ==, 0);
  g_assert_cmpuint (size, >, 32768 + 2048);
  /* The primary volume descriptor: type 1, "CD001", volume id at 40. */
  g_assert_cmpint (data[32768], ==, 1);
  g_assert_cmpmem (data + 32768 + 1, 5, "CD001", 5);
  volume_id = g_strndup (data + 32768 + 40, 32);
  g_strchomp (volume_id);
  g_assert_cmpstr (volume_id, ==, "cidata");
}

static void
remove_tree (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  if (d == NULL)
    return;
  /* The image's read-only modes come out with the files. */
  g_chmod (dir, 0700);
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        remove_tree (path);
      else
        g_assert_cmpint (g_remove (path), ==, 0);
    }
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

static void
assert_file_equals (const char *dir, const char *name, const char *expected)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  gsize length = 0;

  g_file_get_contents (path, &contents, &length, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (contents, length, expected, strlen (expected));
}

/* xorriso reads the image back with Rock Ridge names, as a guest would. */
static void
test_iso_xorriso (void)
{
  PvmSeedParams params = test_params ("tskey-auth-k123");
  g_autoptr(GBytes) iso = build_iso ();
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = NULL;
  g_autofree char *iso_path = NULL;
  g_autofree char *out_dir = NULL;
  g_autofree char *err = NULL;
  g_autofree char *meta_data = pvm_seed_meta_data (&params);
  g_autofree char *user_data = pvm_seed_user_data (&params);
  g_autofree char *network_config = pvm_seed_network_config (&params);
  g_autoptr(GDir) dir = NULL;
  int status = -1;
  guint files = 0;

  if (!g_file_test ("/usr/bin/xorriso", G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip ("/usr/bin/xorriso is not installed");
      return;
    }
  tmp = g_dir_make_tmp ("test-seed-XXXXXX", &error);
  g_assert_no_error (error);
  iso_path = g_build_filename (tmp, "seed.iso", NULL);
  out_dir = g_build_filename (tmp, "out", NULL);
  g_file_set_contents (iso_path, g_bytes_get_data (iso, NULL),
                       (gssize) g_bytes_get_size (iso), &error);
  g_assert_no_error (error);

  {
    const char *argv[] = { "/usr/bin/xorriso", "-indev", iso_path,
                           "-osirrox", "on", "-extract", "/", out_dir, NULL };

    g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL,
                  NULL, NULL, NULL, &err, &status, &error);
    g_assert_no_error (error);
    if (!g_spawn_check_wait_status (status, NULL))
      g_error ("xorriso failed: %s", err);
  }
  assert_file_equals (out_dir, "meta-data", meta_data);
  assert_file_equals (out_dir, "user-data", user_data);
  assert_file_equals (out_dir, "network-config", network_config);
  dir = g_dir_open (out_dir, 0, &error);
  g_assert_no_error (error);
  while (g_dir_read_name (dir) != NULL)
    files++;
  g_assert_cmpuint (files, ==, 3);

  remove_tree (tmp);
}

static gpointer
build_in_thread (gpointer data)
{
  g_autoptr(GBytes) iso = build_iso ();

  return GSIZE_TO_POINTER (g_bytes_get_size (iso));
}

/* The service builds seeds on worker threads. */
static void
test_iso_threads (void)
{
  GThread *threads[4];

  for (size_t i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("seed", build_in_thread, NULL);
  for (size_t i = 0; i < G_N_ELEMENTS (threads); i++)
    g_assert_cmpuint (GPOINTER_TO_SIZE (g_thread_join (threads[i])) % 2048,
                      ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/seed/quote/exact", test_quote_exact);
  g_test_add_func ("/seed/quote/invalid-utf8", test_quote_invalid_utf8);
  g_test_add_func ("/seed/quote/roundtrip", test_quote_roundtrip);
  g_test_add_func ("/seed/meta-data", test_meta_data);
  g_test_add_func ("/seed/network-config", test_network_config);
  g_test_add_func ("/seed/user-data/basic", test_user_data);
  g_test_add_func ("/seed/user-data/tailscale", test_user_data_tailscale);
  g_test_add_func ("/seed/user-data/no-keys", test_user_data_no_keys);
  g_test_add_func ("/seed/user-data/parsed", test_user_data_parsed);
  g_test_add_func ("/seed/iso/layout", test_iso_layout);
  g_test_add_func ("/seed/iso/xorriso", test_iso_xorriso);
  g_test_add_func ("/seed/iso/threads", test_iso_threads);

  return g_test_run ();
}
