#include "metadata.h"

#include <string.h>

#include "errors.h"
#include "validate.h"

void
pvm_metadata_clear (PvmMetadata *meta)
{
  g_clear_pointer (&meta->image, g_free);
  g_clear_pointer (&meta->instance_id, g_free);
}

void
pvm_metadata_free (PvmMetadata *meta)
{
  if (meta == NULL)
    return;
  pvm_metadata_clear (meta);
  g_free (meta);
}

char *
pvm_metadata_to_xml (const PvmMetadata *meta)
{
  /* Numbers need no escaping; root-gib only when known. */
  g_autofree char *root = meta->root_gib == 0 ? g_strdup ("")
      : g_strdup_printf ("<root-gib>%" G_GUINT64_FORMAT "</root-gib>", meta->root_gib);
  g_autofree char *head = g_markup_printf_escaped (
      "<vm>"
      "<owner>%u</owner>"
      "<image>%s</image>"
      "<disk-gib>%" G_GUINT64_FORMAT "</disk-gib>"
      "<created-at>%" G_GUINT64_FORMAT "</created-at>"
      "<instance-id>%s</instance-id>",
      meta->owner, meta->image, meta->disk_gib, meta->created_at,
      meta->instance_id);

  return g_strconcat (head, root, "</vm>", NULL);
}

typedef struct {
  PvmMetadata *meta;
  char *element;   /* the child element we are in, without prefix */
  guint seen;      /* bit per field found */
} ParseState;

static const char *
local_name (const char *name)
{
  const char *colon = strchr (name, ':');
  return colon != NULL ? colon + 1 : name;
}

static void
on_start (GMarkupParseContext *ctx, const char *name, const char **attr_names,
          const char **attr_values, gpointer user_data, GError **error)
{
  ParseState *st = user_data;

  g_free (st->element);
  st->element = g_strdup (local_name (name));
}

static void
on_end (GMarkupParseContext *ctx, const char *name, gpointer user_data,
        GError **error)
{
  ParseState *st = user_data;
  g_clear_pointer (&st->element, g_free);
}

static gboolean
parse_number (const char *text, guint64 max, guint64 *out, GError **error)
{
  return g_ascii_string_to_unsigned (text, 10, 0, max, out, error);
}

static void
on_text (GMarkupParseContext *ctx, const char *text, gsize len,
         gpointer user_data, GError **error)
{
  ParseState *st = user_data;
  g_autofree char *value = g_strstrip (g_strndup (text, len));
  guint64 n;

  if (st->element == NULL)
    return;
  if (g_str_equal (st->element, "owner"))
    {
      if (parse_number (value, G_MAXUINT32, &n, error))
        st->meta->owner = (guint32) n, st->seen |= 1;
    }
  else if (g_str_equal (st->element, "image"))
    {
      g_free (st->meta->image);
      st->meta->image = g_steal_pointer (&value);
      st->seen |= 2;
    }
  else if (g_str_equal (st->element, "disk-gib"))
    {
      if (parse_number (value, G_MAXUINT64, &st->meta->disk_gib, error))
        st->seen |= 4;
    }
  else if (g_str_equal (st->element, "created-at"))
    {
      if (parse_number (value, G_MAXUINT64, &st->meta->created_at, error))
        st->seen |= 8;
    }
  else if (g_str_equal (st->element, "root-gib"))
    {
      /* Optional: VMs made before it was recorded have none. */
      if (!parse_number (value, G_MAXUINT64, &st->meta->root_gib, error))
        return;
    }
  else if (g_str_equal (st->element, "instance-id"))
    {
      g_free (st->meta->instance_id);
      st->meta->instance_id = g_steal_pointer (&value);
    }
}

gboolean
pvm_metadata_parse (const char *xml, PvmMetadata *meta, GError **error)
{
  static const GMarkupParser parser = { on_start, on_end, on_text, NULL, NULL };
  ParseState st = { meta, NULL, 0 };
  g_autoptr(GMarkupParseContext) ctx =
      g_markup_parse_context_new (&parser, 0, &st, NULL);
  gboolean ok;

  memset (meta, 0, sizeof *meta);
  ok = g_markup_parse_context_parse (ctx, xml, -1, error) &&
       g_markup_parse_context_end_parse (ctx, error);
  g_free (st.element);
  if (ok && st.seen != 0xf)
    {
      g_set_error (error, PVM_ERROR, PVM_ERROR_FAILED,
                   "project-vm metadata lacks owner, image, disk-gib or created-at");
      ok = FALSE;
    }
  if (!ok)
    pvm_metadata_clear (meta);
  return ok;
}

const char *
pvm_vm_name_from_domain (const char *domain_name)
{
  const char *name;

  if (!g_str_has_prefix (domain_name, PVM_DOMAIN_PREFIX))
    return NULL;
  name = domain_name + strlen (PVM_DOMAIN_PREFIX);
  return pvm_validate_name (name, NULL) ? name : NULL;
}
