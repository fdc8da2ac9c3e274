/* Close names for a mistyped VM name: "did you mean web?". */
#include "client.h"

#include <string.h>

#define MAX_DISTANCE 2
#define MAX_SUGGESTIONS 3

/* Levenshtein distance, capped: anything above MAX_DISTANCE is "far". VM
 * names are at most 55 bytes, so one row on the stack is enough. */
static guint
edit_distance (const char *a, const char *b)
{
  size_t la = strlen (a), lb = strlen (b);
  guint row[64];

  if (lb >= G_N_ELEMENTS (row) || (la > lb ? la - lb : lb - la) > MAX_DISTANCE)
    return MAX_DISTANCE + 1;
  for (size_t j = 0; j <= lb; j++)
    row[j] = (guint) j;
  for (size_t i = 1; i <= la; i++)
    {
      guint diagonal = row[0];

      row[0] = (guint) i;
      for (size_t j = 1; j <= lb; j++)
        {
          guint above = row[j];
          guint cost = a[i - 1] == b[j - 1] ? 0 : 1;

          row[j] = MIN (MIN (above + 1, row[j - 1] + 1), diagonal + cost);
          diagonal = above;
        }
    }
  return row[lb];
}

typedef struct {
  const char *name;
  guint distance;
} Candidate;

static int
compare_candidates (gconstpointer a, gconstpointer b)
{
  const Candidate *ca = a, *cb = b;

  if (ca->distance != cb->distance)
    return ca->distance < cb->distance ? -1 : 1;
  return strcmp (ca->name, cb->name);
}

char *
pvm_close_names (const char *name, GPtrArray *vms)
{
  g_autoptr(GArray) found = g_array_new (FALSE, FALSE, sizeof (Candidate));
  g_autoptr(GString) out = NULL;

  for (guint i = 0; i < vms->len; i++)
    {
      const char *other = pvm_dbus_vm_get_name (g_ptr_array_index (vms, i));
      Candidate c = { other, 0 };

      if (other == NULL)
        continue;
      /* A prefix ("we" for "webserver") is close whatever its length. */
      c.distance = g_str_has_prefix (other, name) ? 1 : edit_distance (name, other);
      if (c.distance <= MAX_DISTANCE)
        g_array_append_val (found, c);
    }
  if (found->len == 0)
    return NULL;
  g_array_sort (found, compare_candidates);
  out = g_string_new (NULL);
  for (guint i = 0; i < MIN (found->len, MAX_SUGGESTIONS); i++)
    {
      if (i > 0)
        g_string_append (out, i + 1 == MIN (found->len, MAX_SUGGESTIONS) ? " or " : ", ");
      g_string_append (out, g_array_index (found, Candidate, i).name);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}
