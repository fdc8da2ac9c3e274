/* libFuzzer target: the readiness marker search in the serial console log
 * (pvm_readiness_scan, service/readiness.c). The guest writes that log, so
 * it is untrusted, and it arrives in pieces.
 *
 * Input: one byte, the piece size (0: all at once), then the log. Each
 * piece must report the marker exactly when an occurrence of it ends in
 * that piece, whatever the log holds (NULs included). */
#define _GNU_SOURCE   /* memmem */
#include "fuzz-common.h"

#include "readiness.h"
#include "seed.h"

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  pvm_fuzz_init ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const size_t marker_len = strlen (PVM_READY_MARKER);
  const char *log;
  size_t log_len, piece;
  g_autofree char *tail = g_strdup ("");

  if (size < 1)
    return 0;
  piece = data[0] != 0 ? data[0] : size;
  log = (const char *) data + 1;
  log_len = size - 1;

  for (size_t start = 0; start < log_len; start += piece)
    {
      size_t len = MIN (piece, log_len - start);
      /* An occurrence ending in this piece starts at most marker_len - 1
       * bytes before it. */
      size_t from = start > marker_len - 1 ? start - (marker_len - 1) : 0;
      gboolean expected = memmem (log + from, start + len - from,
                                  PVM_READY_MARKER, marker_len) != NULL;
      char *new_tail = NULL;
      gboolean found = pvm_readiness_scan (tail, log + start, len, &new_tail);

      g_assert_cmpint (found, ==, expected);
      g_assert_nonnull (new_tail);
      g_assert_cmpuint (strlen (new_tail), <, marker_len);
      g_free (tail);
      tail = new_tail;
    }
  return 0;
}
