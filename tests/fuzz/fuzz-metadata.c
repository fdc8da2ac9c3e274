/* libFuzzer target: project-vm's metadata element (service/metadata.c), as
 * virDomainGetMetadata hands it over; anyone who can edit the domain XML
 * (virsh edit) controls it. A parsed element written back with
 * pvm_metadata_to_xml must parse to the same values. */
#include "fuzz-common.h"

#include "metadata.h"

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  pvm_fuzz_init ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *xml = pvm_fuzz_cstring (data, size);
  g_autoptr(GError) error = NULL;
  PvmMetadata meta;

  /* Garbage in the struct: parse must not read or free what it finds. */
  memset (&meta, 0xa5, sizeof meta);
  if (!pvm_metadata_parse (xml, &meta, &error))
    {
      g_assert_nonnull (error);
      g_assert_null (meta.image);
      g_assert_null (meta.instance_id);
      return 0;
    }
  g_assert_no_error (error);
  g_assert_nonnull (meta.image);

  if (meta.instance_id != NULL)
    {
      g_autofree char *again = pvm_metadata_to_xml (&meta);
      PvmMetadata back;

      g_assert_true (pvm_metadata_parse (again, &back, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (back.owner, ==, meta.owner);
      g_assert_cmpstr (back.image, ==, meta.image);
      g_assert_cmpuint (back.disk_gib, ==, meta.disk_gib);
      g_assert_cmpuint (back.created_at, ==, meta.created_at);
      g_assert_cmpstr (back.instance_id, ==, meta.instance_id);
      pvm_metadata_clear (&back);
    }
  pvm_metadata_clear (&meta);
  return 0;
}
