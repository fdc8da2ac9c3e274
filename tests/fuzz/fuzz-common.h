/* Shared by the libFuzzer targets: GLib set up so that a critical or a
 * warning (a g_return_if_fail that trips, a GVariant misuse) aborts and is
 * reported as a crash, and a helper for the NUL-terminated input. */
#pragma once

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* GLib 2.74's g_key_file_get_string sets its GError twice for a value with
 * an invalid escape and a trailing backslash (a\qb\ ) and warns about it;
 * a GLib bug (later GLib clears the first error), harmless to the service. */
static const char * const pvm_fuzz_known_glib_warnings[] = {
  "The overwriting error message was: Key file contains escape character at end of line",
};

/* Prints as GLib would, then aborts on a warning, a critical or an error,
 * so libFuzzer reports it and keeps the input. (GLib's own fatal path
 * raises SIGTRAP, which libFuzzer does not catch.) */
static inline GLogWriterOutput
pvm_fuzz_log_writer (GLogLevelFlags log_level, const GLogField *fields,
                     gsize n_fields, gpointer user_data)
{
  gboolean fatal = (log_level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL
                                 | G_LOG_LEVEL_WARNING)) != 0;

  for (gsize i = 0; fatal && i < n_fields; i++)
    if (g_str_equal (fields[i].key, "MESSAGE") && fields[i].length < 0)
      for (size_t k = 0; k < G_N_ELEMENTS (pvm_fuzz_known_glib_warnings); k++)
        if (strstr (fields[i].value, pvm_fuzz_known_glib_warnings[k]) != NULL)
          return G_LOG_WRITER_HANDLED;
  g_log_writer_default (log_level, fields, n_fields, user_data);
  if (fatal)
    abort ();
  return G_LOG_WRITER_HANDLED;
}

static inline void
pvm_fuzz_init (void)
{
  /* Run by hand with G_SLICE=always-malloc, as run-fuzzer.sh does: GLib
   * 2.74's slice magazines hide overflows and leaks from ASan, and GLib
   * reads the variable in its constructors, before this runs. */
  g_log_set_writer_func (pvm_fuzz_log_writer, NULL, NULL);
}

/* The input as a C string: a copy with a NUL after it (inner NULs end the
 * string early, as they would in a D-Bus string or a file read as text). */
static inline char *
pvm_fuzz_cstring (const uint8_t *data, size_t size)
{
  char *s = g_malloc (size + 1);

  if (size > 0)
    memcpy (s, data, size);
  s[size] = '\0';
  return s;
}

/* Every error a client can see travels as a D-Bus string, which must be
 * valid UTF-8 (g_variant_new_string refuses anything else). */
static inline void
pvm_fuzz_check_error (const GError *error)
{
  g_assert_nonnull (error);
  g_assert_nonnull (error->message);
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
}
