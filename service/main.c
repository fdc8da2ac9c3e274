/* project-vmd: owns org.projectvm and runs the daemon until told to stop. */
#include "build-config.h"

#include <glib-unix.h>
#include <libvirt-glib/libvirt-glib.h>
#include <libvirt-gconfig/libvirt-gconfig.h>
#include <libvirt-glib/libvirt-glib.h>
#include <stdlib.h>

#include "daemon.h"
#include "errors.h"

#define PVM_BUS_NAME "org.projectvm"

typedef struct {
  GMainLoop *loop;
  PvmDaemon *daemon;
  int exit_status;
} Service;

static void
on_bus_acquired (GDBusConnection *connection, const char *name, gpointer data)
{
  Service *service = data;
  pvm_daemon_export (service->daemon, connection);
}

static void
on_name_acquired (GDBusConnection *connection, const char *name, gpointer data)
{
  g_message ("owning %s", name);
}

static void
on_name_lost (GDBusConnection *connection, const char *name, gpointer data)
{
  Service *service = data;

  g_printerr ("project-vmd: %s %s\n", connection == NULL ?
              "could not connect to the bus to own" : "lost or could not own",
              name);
  service->exit_status = EXIT_FAILURE;
  g_main_loop_quit (service->loop);
}

static gboolean
on_signal (gpointer data)
{
  Service *service = data;
  g_main_loop_quit (service->loop);
  return G_SOURCE_CONTINUE;
}

int
main (int argc, char **argv)
{
  g_autofree char *config_file = NULL;
  gboolean session = FALSE, replace = FALSE, verbose = FALSE, version = FALSE;
  GOptionEntry entries[] = {
    { "config", 0, 0, G_OPTION_ARG_FILENAME, &config_file,
      "Configuration file (default " PVM_SYSCONFDIR "/project-vm/project-vm.conf)", "FILE" },
    { "session", 0, 0, G_OPTION_ARG_NONE, &session,
      "Own the name on the session bus (development only)", NULL },
    { "replace", 0, 0, G_OPTION_ARG_NONE, &replace, "Replace a running service", NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Log debug messages", NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("- the project-vm service");
  g_autoptr(GError) error = NULL;
  g_autoptr(PvmConfig) config = NULL;
  Service service = { 0 };
  guint owner_id;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr ("project-vmd: %s\n", error->message);
      return 2;
    }
  if (version)
    {
      g_print ("project-vmd %s\n", PACKAGE_VERSION);
      return EXIT_SUCCESS;
    }
  if (verbose)
    g_setenv ("G_MESSAGES_DEBUG", G_LOG_DOMAIN, TRUE);
  if (config_file == NULL)
    config_file = g_strdup (PVM_SYSCONFDIR "/project-vm/project-vm.conf");

  config = pvm_config_load (config_file, &error);
  if (config == NULL)
    {
      g_printerr ("project-vmd: %s\n", error->message);
      return EXIT_FAILURE;
    }

  /* libvirt's events are dispatched from this GLib main loop. */
  if (!gvir_init_check (NULL, NULL, &error) || !gvir_config_init_check (NULL, NULL, &error))
    {
      g_printerr ("project-vmd: initializing libvirt-glib: %s\n", error->message);
      return EXIT_FAILURE;
    }
  gvir_event_register ();
  (void) pvm_error_quark ();

  service.loop = g_main_loop_new (NULL, FALSE);
  service.daemon = pvm_daemon_new (g_steal_pointer (&config));
  g_unix_signal_add (SIGINT, on_signal, &service);
  g_unix_signal_add (SIGTERM, on_signal, &service);
  owner_id = g_bus_own_name (session ? G_BUS_TYPE_SESSION : G_BUS_TYPE_SYSTEM,
                             PVM_BUS_NAME,
                             G_BUS_NAME_OWNER_FLAGS_ALLOW_REPLACEMENT |
                             (replace ? G_BUS_NAME_OWNER_FLAGS_REPLACE : 0),
                             on_bus_acquired, on_name_acquired, on_name_lost,
                             &service, NULL);
  g_main_loop_run (service.loop);

  g_bus_unown_name (owner_id);
  g_clear_object (&service.daemon);
  g_main_loop_unref (service.loop);
  return service.exit_status;
}
