/* What the client prints: JSON (json-glib, so every string is escaped
 * right), coloured states, sizes, counts and owners. */
#include "client.h"

#include <pwd.h>
#include <string.h>
#include <unistd.h>

void
pvm_print_json (JsonNode *root)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autofree char *text = NULL;

  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, NULL);
  g_print ("%s\n", text);
}

static JsonNode *
string_array (const char * const *strings)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_array (b);
  for (guint i = 0; strings != NULL && strings[i] != NULL; i++)
    json_builder_add_string_value (b, strings[i]);
  json_builder_end_array (b);
  return json_builder_get_root (b);
}

void
pvm_json_add_string (JsonBuilder *b, const char *member, const char *value)
{
  json_builder_set_member_name (b, member);
  json_builder_add_string_value (b, value);
}

void
pvm_json_add_int (JsonBuilder *b, const char *member, gint64 value)
{
  json_builder_set_member_name (b, member);
  json_builder_add_int_value (b, value);
}

/* The field names are the ones scripts already read. */
JsonNode *
pvm_vm_to_json (PvmDBusVM *vm)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autofree char *owner = pvm_owner_name (pvm_dbus_vm_get_owner (vm));

  json_builder_begin_object (b);
  pvm_json_add_string (b, "name", pvm_dbus_vm_get_name (vm));
  pvm_json_add_string (b, "state", pvm_dbus_vm_get_state (vm));
  pvm_json_add_int (b, "cpus", pvm_dbus_vm_get_cpus (vm));
  pvm_json_add_int (b, "memory_mib", (gint64) pvm_dbus_vm_get_memory_mib (vm));
  pvm_json_add_int (b, "disk_gib", (gint64) pvm_dbus_vm_get_disk_gib (vm));
  pvm_json_add_string (b, "image", pvm_dbus_vm_get_image (vm));
  json_builder_set_member_name (b, "addresses");
  json_builder_add_value (b, string_array (pvm_dbus_vm_get_addresses (vm)));
  pvm_json_add_int (b, "owner", pvm_dbus_vm_get_owner (vm));
  pvm_json_add_string (b, "owner_name", owner);
  pvm_json_add_string (b, "ssh_target", pvm_dbus_vm_get_ssh_target (vm));
  pvm_json_add_string (b, "cloud_init", pvm_dbus_vm_get_cloud_init (vm));
  pvm_json_add_int (b, "created_at", (gint64) pvm_dbus_vm_get_created_at (vm));
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

gboolean
pvm_use_colour (void)
{
  const char *no_colour = g_getenv ("NO_COLOR");
  const char *term = g_getenv ("TERM");

  /* https://no-color.org: set and not empty means no colour. */
  return isatty (STDOUT_FILENO) && (no_colour == NULL || *no_colour == '\0') &&
         term != NULL && g_strcmp0 (term, "dumb") != 0;
}

/* SGR parameters per state; shutoff is dimmed, the usual resting state. */
static const char *
state_sgr (const char *state)
{
  static const struct { const char *state, *sgr; } map[] = {
    { "running", "32" },          /* green */
    { "shutoff", "2" },           /* dim */
    { "crashed", "1;31" },        /* bold red */
    { "paused", "33" },           /* yellow */
    { "suspended", "33" },
    { "shutting-down", "33" },
    { "unknown", "35" },          /* magenta: libvirt is not answering */
  };

  for (guint i = 0; i < G_N_ELEMENTS (map); i++)
    if (g_strcmp0 (state, map[i].state) == 0)
      return map[i].sgr;
  return NULL;
}

char *
pvm_format_state (const char *state, gboolean colour, int width)
{
  const char *sgr = colour ? state_sgr (state) : NULL;
  int pad = MAX (width - (int) strlen (state), 0);

  /* Padding outside the escape sequence, which takes no columns. */
  if (sgr == NULL)
    return g_strdup_printf ("%s%*s", state, pad, "");
  return g_strdup_printf ("\033[%sm%s\033[0m%*s", sgr, state, pad, "");
}

char *
pvm_format_cpus (guint cpus)
{
  return g_strdup_printf ("%u %s", cpus, cpus == 1 ? "CPU" : "CPUs");
}

char *
pvm_format_mib (guint64 mib)
{
  if (mib >= 1024 && mib % 1024 == 0)
    return g_strdup_printf ("%" G_GUINT64_FORMAT "G", mib / 1024);
  return g_strdup_printf ("%" G_GUINT64_FORMAT "M", mib);
}

char *
pvm_owner_name (guint32 uid)
{
  struct passwd *pw = getpwuid (uid);
  return pw != NULL ? g_strdup (pw->pw_name) : g_strdup_printf ("%u", uid);
}
