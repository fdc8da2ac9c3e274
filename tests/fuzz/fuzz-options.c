/* libFuzzer target: the a{sv} options of Manager.Create (service/options.c
 * and pvm_create_request_parse in service/create.c). The input is the
 * serialized a{sv} as a client would send it; GVariant's untrusted path
 * (trusted = FALSE) is what GDBus uses for a message off the bus. */
#include "fuzz-common.h"

#include "config.h"
#include "create.h"
#include "options.h"
#include "validate.h"

static const char config_text[] =
  "[defaults]\n"
  "image=debian-12\n"
  "[image debian-12]\n"
  "path=/var/lib/project-vm/images/debian-12.qcow2\n"
  "[image alpine]\n"
  "path=/var/lib/project-vm/images/alpine.qcow2\n";

static PvmConfig *config;

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_autoptr(GError) error = NULL;

  pvm_fuzz_init ();
  config = pvm_config_load_from_data (config_text, sizeof config_text - 1,
                                      "fuzz.conf", &error);
  g_assert_no_error (error);
  return 0;
}

/* The spec of Manager.Create, as in pvm_create_request_parse. */
static void
parse_with_create_spec (GVariant *options)
{
  g_autoptr(GError) error = NULL;
  guint64 memory_mib = 0, disk_gib = 0;
  guint32 cpus = 0;
  g_autofree char *image = NULL;
  g_auto(GStrv) ssh_keys = NULL;
  gboolean start = FALSE;
  const PvmOptionSpec specs[] = {
    { "memory-mib", "t", &memory_mib },
    { "cpus", "u", &cpus },
    { "disk-gib", "t", &disk_gib },
    { "image", "s", &image },
    { "ssh-keys", "as", &ssh_keys },
    { "start", "b", &start },
    { NULL }
  };

  if (pvm_options_parse (options, specs, &error))
    {
      for (guint i = 0; ssh_keys != NULL && ssh_keys[i] != NULL; i++)
        g_assert_true (g_utf8_validate (ssh_keys[i], -1, NULL));
      g_assert_true (image == NULL || g_utf8_validate (image, -1, NULL));
      g_assert_true (start == FALSE || start == TRUE);
    }
  else
    pvm_fuzz_check_error (error);
}

static void
create_request (GVariant *options)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PvmCreateRequest) req =
      pvm_create_request_parse (config, "web", options, &error);

  if (req == NULL)
    {
      pvm_fuzz_check_error (error);
      return;
    }
  g_assert_cmpstr (req->name, ==, "web");
  g_assert_true (pvm_validate_memory_mib (req->memory_mib, NULL));
  g_assert_true (pvm_validate_cpus (req->cpus, NULL));
  g_assert_true (pvm_validate_disk_gib (req->disk_gib, NULL));
  g_assert_nonnull (pvm_config_find_image (config, req->image));
  if (req->ssh_keys != NULL)
    {
      g_assert_cmpuint (g_strv_length (req->ssh_keys), <=, PVM_SSH_KEYS_MAX);
      for (guint i = 0; req->ssh_keys[i] != NULL; i++)
        g_assert_true (pvm_validate_ssh_key (req->ssh_keys[i], NULL));
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(GBytes) bytes = g_bytes_new (data, size);
  g_autoptr(GVariant) options =
      g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE_VARDICT,
                                                    bytes, FALSE));

  parse_with_create_spec (options);
  create_request (options);
  return 0;
}
