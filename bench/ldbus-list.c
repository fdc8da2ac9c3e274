/* A one-process libvirt-dbus client for the benchmark: lists the domains
 * whose names start with a prefix, with their state and memory, the way a
 * client of libvirt-dbus has to: Connect.ListDomains, then per domain
 * Properties.GetAll (the name is there; the object path is a UUID) and, for
 * the matching ones, Domain.GetStats(STATE|BALLOON) for state and memory.
 * --bulk: one Connect.GetAllDomainStats(STATE|BALLOON) call instead.
 *
 * Build: cc -O2 -o ldbus-list ldbus-list.c $(pkg-config --cflags --libs gio-2.0)
 * Uses the system bus (DBUS_SYSTEM_BUS_ADDRESS is honoured). */
#include <gio/gio.h>
#include <stdio.h>
#include <string.h>

#define STATS_STATE 1
#define STATS_BALLOON 4

static const char *
state_name (gint64 s)
{
  static const char *names[] = { "nostate", "running", "blocked", "paused",
                                 "shutdown", "shutoff", "crashed", "pmsuspended" };
  return s >= 0 && s < 8 ? names[s] : "unknown";
}

/* libvirt-dbus 1.4 wraps values twice (v holding v): unwrap all levels. */
static GVariant *
lookup (GVariant *dict, const char *key)
{
  GVariant *v = g_variant_lookup_value (dict, key, NULL);

  while (v != NULL && g_variant_is_of_type (v, G_VARIANT_TYPE_VARIANT))
    {
      GVariant *inner = g_variant_get_variant (v);
      g_variant_unref (v);
      v = inner;
    }
  return v;
}

static gint64
int_of (GVariant *dict, const char *key)
{
  g_autoptr(GVariant) v = lookup (dict, key);

  if (v == NULL)
    return -1;
  if (g_variant_is_of_type (v, G_VARIANT_TYPE_INT32))
    return g_variant_get_int32 (v);
  if (g_variant_is_of_type (v, G_VARIANT_TYPE_UINT32))
    return g_variant_get_uint32 (v);
  if (g_variant_is_of_type (v, G_VARIANT_TYPE_INT64))
    return g_variant_get_int64 (v);
  if (g_variant_is_of_type (v, G_VARIANT_TYPE_UINT64))
    return (gint64) g_variant_get_uint64 (v);
  return -1;
}

/* A domain may vanish between ListDomains and the calls on it (other
 * programs share the host): MAY_FAIL calls then return NULL. */
static GVariant *
call (GDBusConnection *bus, const char *path, const char *iface, const char *method,
      GVariant *args, const char *reply_type, gboolean may_fail)
{
  g_autoptr(GError) error = NULL;
  GVariant *r = g_dbus_connection_call_sync (bus, "org.libvirt", path, iface, method, args,
                                             G_VARIANT_TYPE (reply_type),
                                             G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);

  if (r == NULL && !may_fail)
    {
      fprintf (stderr, "ldbus-list: %s.%s on %s: %s\n", iface, method, path, error->message);
      exit (1);
    }
  return r;
}

int
main (int argc, char **argv)
{
  const char *prefix = "project-";
  gboolean bulk = FALSE;
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) bus = NULL;

  for (int i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--bulk") == 0)
        bulk = TRUE;
      else if (strcmp (argv[i], "--prefix") == 0 && i + 1 < argc)
        prefix = argv[++i];
      else
        {
          fprintf (stderr, "usage: ldbus-list [--prefix PREFIX] [--bulk]\n");
          return 2;
        }
    }
  bus = g_bus_get_sync (G_BUS_TYPE_SYSTEM, NULL, &error);
  if (bus == NULL)
    {
      fprintf (stderr, "ldbus-list: %s\n", error->message);
      return 1;
    }
  printf ("%-32s %-10s %10s\n", "NAME", "STATE", "MEMORY");
  if (bulk)
    {
      g_autoptr(GVariant) r = call (bus, "/org/libvirt/QEMU", "org.libvirt.Connect",
                                    "GetAllDomainStats",
                                    g_variant_new ("(uu)", STATS_STATE | STATS_BALLOON, 0),
                                    "(a(sa{sv}))", FALSE);
      g_autoptr(GVariantIter) it = NULL;
      const char *name;
      GVariant *stats;

      g_variant_get (r, "(a(sa{sv}))", &it);
      while (g_variant_iter_next (it, "(&s@a{sv})", &name, &stats))
        {
          if (g_str_has_prefix (name, prefix))
            {
              printf ("%-32s %-10s %9" G_GINT64_FORMAT "M\n", name,
                      state_name (int_of (stats, "state.state")),
                      int_of (stats, "balloon.maximum") / 1024);
            }
          g_variant_unref (stats);
        }
    }
  else
    {
      g_autoptr(GVariant) r = call (bus, "/org/libvirt/QEMU", "org.libvirt.Connect",
                                    "ListDomains", g_variant_new ("(u)", 0), "(ao)", FALSE);
      g_autoptr(GVariantIter) it = NULL;
      const char *path;

      g_variant_get (r, "(ao)", &it);
      while (g_variant_iter_next (it, "&o", &path))
        {
          g_autoptr(GVariant) props = call (bus, path, "org.freedesktop.DBus.Properties",
                                            "GetAll", g_variant_new ("(s)", "org.libvirt.Domain"),
                                            "(a{sv})", TRUE);
          g_autoptr(GVariant) dict = NULL;
          g_autoptr(GVariant) name = NULL;

          if (props == NULL)
            continue;
          dict = g_variant_get_child_value (props, 0);
          name = lookup (dict, "Name");

          if (name == NULL || !g_variant_is_of_type (name, G_VARIANT_TYPE_STRING) ||
              !g_str_has_prefix (g_variant_get_string (name, NULL), prefix))
            continue;
          {
            g_autoptr(GVariant) sr = call (bus, path, "org.libvirt.Domain", "GetStats",
                                           g_variant_new ("(uu)", STATS_STATE | STATS_BALLOON, 0),
                                           "(a{sv})", TRUE);
            g_autoptr(GVariant) stats = NULL;

            if (sr == NULL)
              continue;
            stats = g_variant_get_child_value (sr, 0);
            printf ("%-32s %-10s %9" G_GINT64_FORMAT "M\n", g_variant_get_string (name, NULL),
                    state_name (int_of (stats, "state.state")),
                    int_of (stats, "balloon.maximum") / 1024);
          }
        }
    }
  return 0;
}
