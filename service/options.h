/* The a{sv} options of every method: known keys with their types. An
 * unknown key or a value of the wrong type is InvalidArgument. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  const char *key;
  const char *type;     /* a GVariant type string: "b", "u", "t", "s", "as" */
  gpointer out;         /* gboolean*, guint32*, guint64*, char**, char*** */
} PvmOptionSpec;

/* SPECS ends with a { NULL } entry. Strings are newly allocated. */
gboolean pvm_options_parse (GVariant *options, const PvmOptionSpec *specs,
                            GError **error);

G_END_DECLS
