#include "options.h"

#include "errors.h"

#define PVM_OPTIONS_MAX 32

static const PvmOptionSpec *
find_spec (const PvmOptionSpec *specs, const char *key)
{
  for (; specs->key != NULL; specs++)
    if (g_str_equal (specs->key, key))
      return specs;
  return NULL;
}

static char *
known_keys (const PvmOptionSpec *specs)
{
  g_autoptr(GString) s = g_string_new (NULL);

  for (; specs->key != NULL; specs++)
    g_string_append_printf (s, "%s%s", s->len ? ", " : "", specs->key);
  return s->len ? g_string_free (g_steal_pointer (&s), FALSE) : g_strdup ("none");
}

static void
store (const PvmOptionSpec *spec, GVariant *value)
{
  switch (spec->type[0])
    {
    case 'b': *(gboolean *) spec->out = g_variant_get_boolean (value); break;
    case 'u': *(guint32 *) spec->out = g_variant_get_uint32 (value); break;
    case 't': *(guint64 *) spec->out = g_variant_get_uint64 (value); break;
    case 's':
      g_free (*(char **) spec->out);
      *(char **) spec->out = g_variant_dup_string (value, NULL);
      break;
    case 'a':
      g_strfreev (*(char ***) spec->out);
      *(char ***) spec->out = g_variant_dup_strv (value, NULL);
      break;
    default:
      g_assert_not_reached ();
    }
}

gboolean
pvm_options_parse (GVariant *options, const PvmOptionSpec *specs, GError **error)
{
  GVariantIter iter;

  if (g_variant_n_children (options) > PVM_OPTIONS_MAX)
    {
      g_set_error (error, PVM_ERROR, PVM_ERROR_INVALID_ARGUMENT,
                   "too many options (%" G_GSIZE_FORMAT ", at most %d)",
                   g_variant_n_children (options), PVM_OPTIONS_MAX);
      return FALSE;
    }
  g_variant_iter_init (&iter, options);
  for (;;)
    {
      g_autoptr(GVariant) value = NULL;
      const char *key;
      const PvmOptionSpec *spec;

      if (!g_variant_iter_next (&iter, "{&sv}", &key, &value))
        break;
      spec = find_spec (specs, key);
      if (spec == NULL)
        {
          g_autofree char *escaped = g_strescape (key, NULL);
          g_autofree char *known = known_keys (specs);
          if (strlen (escaped) > 60)
            escaped[60] = '\0';
          g_set_error (error, PVM_ERROR, PVM_ERROR_INVALID_ARGUMENT,
                       "unknown option \"%s\" (known: %s)", escaped, known);
          return FALSE;
        }
      if (!g_variant_is_of_type (value, G_VARIANT_TYPE (spec->type)))
        {
          g_set_error (error, PVM_ERROR, PVM_ERROR_INVALID_ARGUMENT,
                       "option \"%s\" must be of type %s, not %s", key,
                       spec->type, g_variant_get_type_string (value));
          return FALSE;
        }
      store (spec, value);
    }
  return TRUE;
}
