#include "seed.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Gives libisofs.h's copy of struct burn_source; libburn is not used. */
#define LIBISOFS_WITHOUT_LIBBURN 1
#include <libisofs/libisofs.h>

#include "errors.h"

#define PROJECT_DISK "/dev/disk/by-id/virtio-project"
#define TAILSCALE_KEY_FILE "/etc/project-vm/tailscale-authkey"
#define ISO_BLOCK 2048

/* YAML quoting */

static void
append_escape (GString *out, gunichar c)
{
  switch (c)
    {
    case '"': g_string_append (out, "\\\""); return;
    case '\\': g_string_append (out, "\\\\"); return;
    case '\n': g_string_append (out, "\\n"); return;
    case '\t': g_string_append (out, "\\t"); return;
    case '\r': g_string_append (out, "\\r"); return;
    default: break;
    }

  /* C0, DEL and C1 (NEL among them) are not printable in YAML; the line and
   * paragraph separators are line breaks to YAML 1.1; a stray BOM and the
   * non-characters are better seen than hidden. */
  if (c < 0x20 || (c >= 0x7f && c <= 0x9f))
    g_string_append_printf (out, "\\x%02X", c);
  else if (c == 0x2028 || c == 0x2029 || c == 0xfeff || c == 0xfffe
           || c == 0xffff)
    g_string_append_printf (out, "\\u%04X", c);
  else
    g_string_append_unichar (out, c);
}

char *
pvm_yaml_quote (const char *text)
{
  GString *out = g_string_new ("\"");
  const char *p = text != NULL ? text : "";
  const char *end = p + strlen (p);

  while (p < end)
    {
      gunichar c = g_utf8_get_char_validated (p, end - p);

      if (c == (gunichar) -1 || c == (gunichar) -2)
        {
          /* Not UTF-8: YAML cannot carry the byte, so mark where it was. */
          g_string_append (out, "\\uFFFD");
          p++;
          continue;
        }
      append_escape (out, c);
      p = g_utf8_next_char (p);
    }
  g_string_append_c (out, '"');
  return g_string_free (out, FALSE);
}

/* meta-data */

static char *
hostname_for (const char *name)
{
  return g_strconcat ("project-", name, NULL);
}

static gboolean
params_ok (const PvmSeedParams *params)
{
  return params != NULL && params->name != NULL
         && params->instance_id != NULL && params->user != NULL;
}

char *
pvm_seed_meta_data (const PvmSeedParams *params)
{
  g_autofree char *hostname = NULL;
  g_autofree char *q_id = NULL;
  g_autofree char *q_host = NULL;

  g_return_val_if_fail (params_ok (params), NULL);

  hostname = hostname_for (params->name);
  q_id = pvm_yaml_quote (params->instance_id);
  q_host = pvm_yaml_quote (hostname);
  return g_strdup_printf ("instance-id: %s\nlocal-hostname: %s\n", q_id,
                          q_host);
}

/* user-data */

static void
append_user (GString *out, const PvmSeedParams *params)
{
  g_autofree char *q_user = pvm_yaml_quote (params->user);

  /* Only this user: no distribution default user to leave unlocked. */
  g_string_append_printf (out,
                          "users:\n"
                          "  - name: %s\n"
                          "    sudo: \"ALL=(ALL) NOPASSWD:ALL\"\n"
                          "    shell: /bin/bash\n"
                          "    lock_passwd: true\n",
                          q_user);
  if (params->ssh_keys == NULL || params->ssh_keys[0] == NULL)
    {
      g_string_append (out, "    ssh_authorized_keys: []\n");
      return;
    }
  g_string_append (out, "    ssh_authorized_keys:\n");
  for (size_t i = 0; params->ssh_keys[i] != NULL; i++)
    {
      g_autofree char *q_key = pvm_yaml_quote (params->ssh_keys[i]);

      g_string_append_printf (out, "      - %s\n", q_key);
    }
}

/* The project disk outlives instances: partition and format it only when it
 * is blank (overwrite false; partition auto finds an existing filesystem
 * with this label, where "none" would run mkfs for every new instance-id). */
static void
append_project_disk (GString *out, const char *user)
{
  g_autofree char *mount_point = g_strdup_printf ("/home/%s/project", user);
  g_autofree char *q_mount_point = pvm_yaml_quote (mount_point);

  g_string_append (out,
                   "disk_setup:\n"
                   "  " PROJECT_DISK ":\n"
                   "    table_type: gpt\n"
                   "    layout: true\n"
                   "    overwrite: false\n"
                   "fs_setup:\n"
                   "  - label: project\n"
                   "    filesystem: ext4\n"
                   "    device: " PROJECT_DISK "\n"
                   "    partition: auto\n"
                   "    overwrite: false\n");
  /* One mount entry only: a second one for the same disk makes two fsck
   * runs clash and the disk goes missing. */
  g_string_append_printf (out,
                          "mounts:\n"
                          "  - [\"LABEL=project\", %s, \"ext4\", "
                          "\"defaults,nofail\", \"0\", \"2\"]\n",
                          q_mount_point);
}

static void
append_tailscale_files (GString *out, const char *authkey)
{
  g_autofree char *q_key = pvm_yaml_quote (authkey);

  g_string_append_printf (out,
                          "write_files:\n"
                          "  - path: " TAILSCALE_KEY_FILE "\n"
                          "    owner: \"root:root\"\n"
                          "    permissions: '0600'\n"
                          "    content: %s\n",
                          q_key);
}

static void
append_runcmd (GString *out, const PvmSeedParams *params)
{
  g_autofree char *home = g_strdup_printf ("/home/%s", params->user);
  g_autofree char *mount_point = g_strconcat (home, "/project", NULL);
  g_autofree char *owner = g_strconcat (params->user, ":", NULL);
  g_autofree char *q_home = pvm_yaml_quote (home);
  g_autofree char *q_mount_point = pvm_yaml_quote (mount_point);
  g_autofree char *q_owner = pvm_yaml_quote (owner);

  /* cloud-init mounts the disk before it creates users, so mkdir left the
   * home and the mount point to root. "user:" is the user's login group. */
  g_string_append_printf (out,
                          "runcmd:\n"
                          "  - [chown, \"--\", %s, %s, %s]\n",
                          q_owner, q_home, q_mount_point);
  if (params->tailscale_authkey != NULL)
    g_string_append (out,
                     "  - [sh, -c, \"if command -v tailscale >/dev/null; "
                     "then tailscale up --auth-key=file:" TAILSCALE_KEY_FILE
                     "; fi\"]\n");
}

static void
append_final_message (GString *out)
{
  g_autofree char *q_message = pvm_yaml_quote (
      PVM_READY_MARKER " cloud-init $VERSION finished at $TIMESTAMP, "
      "up $UPTIME seconds");

  /* Kept on one line: the service and test guests match it as text. */
  g_string_append_printf (out, "final_message: %s\n", q_message);
}

char *
pvm_seed_user_data (const PvmSeedParams *params)
{
  GString *out;
  g_autofree char *hostname = NULL;
  g_autofree char *q_hostname = NULL;

  g_return_val_if_fail (params_ok (params), NULL);

  out = g_string_new ("#cloud-config\n");
  hostname = hostname_for (params->name);
  q_hostname = pvm_yaml_quote (hostname);

  g_string_append_printf (out, "hostname: %s\n", q_hostname);
  g_string_append (out, "preserve_hostname: false\n");
  append_user (out, params);
  append_project_disk (out, params->user);
  if (params->tailscale_authkey != NULL)
    append_tailscale_files (out, params->tailscale_authkey);
  append_runcmd (out, params);
  append_final_message (out);
  return g_string_free (out, FALSE);
}

/* network-config
 *
 * Deliberately no explicit configuration. A version 2 entry that matches
 * "e*" by name only works with cloud-init's netplan renderer: the eni
 * (ifupdown) and networkd renderers of cloud-init 22.4 turn it into an
 * interface literally named after the entry's key, and guests built with
 * ifupdown would get no network at all. Without a configuration, cloud-init
 * generates its fallback on every renderer: DHCP on the primary NIC,
 * matched by MAC address, whatever its name. A comment-only file loads as
 * nothing, which NoCloud treats like a missing one. */
char *
pvm_seed_network_config (const PvmSeedParams *params)
{
  return g_strdup ("# project-vm: DHCP on the primary NIC through cloud-init's "
                   "fallback\n"
                   "# network configuration (works with the eni, networkd "
                   "and netplan\n"
                   "# renderers, whatever the NIC is called).\n");
}

/* The ISO image */

static int
iso_init_once (void)
{
  static gsize done = 0;
  static int result;

  if (g_once_init_enter (&done))
    {
      /* Flag bit 0: do not call setlocale(); the process owns its locale,
       * and setlocale() from a worker thread is not thread-safe. */
      result = iso_init_with_flag (1);
      g_once_init_leave (&done, 1);
    }
  return result;
}

static gboolean
isofs_failed (GError **error, const char *step, int code)
{
  g_set_error (error, PVM_ERROR, PVM_ERROR_FAILED,
               "cannot build the cloud-init seed image: %s: %s "
               "(libisofs error 0x%X)", step, iso_error_to_msg (code),
               (unsigned int) code);
  return FALSE;
}

static gboolean
add_file (IsoImage *image, const char *name, const char *content,
          GError **error)
{
  size_t size = strlen (content);
  /* The stream frees the buffer with free(): allocate it with malloc(). */
  unsigned char *buf = malloc (size > 0 ? size : 1);
  IsoStream *stream = NULL;
  int ret;

  if (buf == NULL)
    return isofs_failed (error, name, ISO_OUT_OF_MEM);
  memcpy (buf, content, size);
  ret = iso_memory_stream_new (buf, size, &stream);
  if (ret < 0)
    {
      free (buf);
      return isofs_failed (error, name, ret);
    }
  ret = iso_image_add_new_file (image, iso_image_get_root (image), name,
                                stream, NULL);
  if (ret < 0)
    {
      iso_stream_unref (stream);
      return isofs_failed (error, name, ret);
    }
  return TRUE;
}

static gboolean
new_write_opts (IsoWriteOpts **opts, GError **error)
{
  int ret;

  /* Profile 2 (distribution): files owned by root and read-only for all,
   * whatever the nodes say. */
  ret = iso_write_opts_new (opts, 2);
  if (ret < 0)
    return isofs_failed (error, "write options", ret);
  if ((ret = iso_write_opts_set_rockridge (*opts, 1)) < 0
      || (ret = iso_write_opts_set_joliet (*opts, 1)) < 0
      /* Keeps the volume id "cidata" lower case. */
      || (ret = iso_write_opts_set_relaxed_vol_atts (*opts, 1)) < 0)
    return isofs_failed (error, "write options", ret);
  return TRUE;
}

static void
free_burn_source (struct burn_source *src)
{
  /* free_data stops and joins the writer thread. */
  src->free_data (src);
  free (src);
}

static gboolean
read_image (struct burn_source *src, GByteArray *out, GError **error)
{
  int (*read_block) (struct burn_source *, unsigned char *, int);
  unsigned char block[ISO_BLOCK];
  off_t expected = src->get_size (src);
  int n;

  /* Version 1 sources have read_xt instead of read. */
  read_block = src->read != NULL ? src->read : src->read_xt;
  while ((n = read_block (src, block, sizeof block)) > 0)
    g_byte_array_append (out, block, (guint) n);

  if (n < 0 || (off_t) out->len != expected || out->len % ISO_BLOCK != 0)
    return isofs_failed (error, "writing the image", ISO_BUF_READ_ERROR);
  return TRUE;
}

static gboolean
build_image (IsoImage *image, const PvmSeedParams *params, GError **error)
{
  g_autofree char *meta_data = pvm_seed_meta_data (params);
  g_autofree char *user_data = pvm_seed_user_data (params);
  g_autofree char *network_config = pvm_seed_network_config (params);

  iso_image_set_volume_id (image, "cidata");
  return add_file (image, "meta-data", meta_data, error)
         && add_file (image, "user-data", user_data, error)
         && add_file (image, "network-config", network_config, error);
}

static gboolean
write_image (IsoImage *image, GByteArray *out, GError **error)
{
  IsoWriteOpts *opts = NULL;
  struct burn_source *src = NULL;
  gboolean ok;
  int ret;

  if (!new_write_opts (&opts, error))
    {
      if (opts != NULL)
        iso_write_opts_free (opts);
      return FALSE;
    }
  ret = iso_image_create_burn_source (image, opts, &src);
  iso_write_opts_free (opts);
  if (ret < 0)
    return isofs_failed (error, "starting the writer", ret);
  ok = read_image (src, out, error);
  free_burn_source (src);
  return ok;
}

GBytes *
pvm_seed_build_iso (const PvmSeedParams *params, GError **error)
{
  /* libisofs bumps global counters (image and stream ids) without locks. */
  static GMutex lock;
  g_autoptr(GMutexLocker) locker = NULL;
  g_autoptr(GByteArray) out = NULL;
  IsoImage *image = NULL;
  gboolean ok;
  int ret;

  g_return_val_if_fail (params_ok (params), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  locker = g_mutex_locker_new (&lock);
  out = g_byte_array_new ();

  ret = iso_init_once ();
  if (ret < 0)
    {
      isofs_failed (error, "initializing libisofs", ret);
      return NULL;
    }
  ret = iso_image_new ("cidata", &image);
  if (ret < 0)
    {
      isofs_failed (error, "new image", ret);
      return NULL;
    }
  ok = build_image (image, params, error) && write_image (image, out, error);
  iso_image_unref (image);
  if (!ok)
    return NULL;
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}
