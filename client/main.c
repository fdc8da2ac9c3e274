/* project-vm: the command-line client of the project-vm service. */
#include "build-config.h"

#include <locale.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "errors.h"

typedef struct {
  const char *name;
  int (*run) (const PvmClient *client, int argc, char **argv);
  const char *usage;
} Command;

static const Command commands[] = {
  { "create", pvm_cmd_create, "create NAME [MEMORY] [CPUS] [DISK] [--image IMAGE] [--root SIZE] [--ssh-key FILE]... [--start]" },
  { "start", pvm_cmd_start, "start NAME [--wait] [--timeout SEC]" },
  { "stop", pvm_cmd_stop, "stop NAME [--timeout SEC] [--force]" },
  { "destroy", pvm_cmd_destroy, "destroy NAME [--keep-data] [--yes]" },
  { "ssh", pvm_cmd_ssh, "ssh NAME [-- SSH-ARGS...]" },
  { "list", pvm_cmd_list, "list [--json]" },
  { "status", pvm_cmd_status, "status NAME [--json]" },
  { "console", pvm_cmd_console, "console NAME" },
  { "monitor", pvm_cmd_monitor, "monitor [--json]" },
};

static void
print_help (void)
{
  g_print ("Usage: project-vm [--no-ask-password] COMMAND [ARGS...]\n\n"
           "Per-project virtual machines, managed by the project-vm service.\n\n"
           "Commands:\n");
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    g_print ("  project-vm %s\n", commands[i].usage);
  g_print ("\nSizes: MiB numbers or K/M/G/T suffixes (4096, 4G, 50G).\n"
           "Global options: --no-ask-password, --version, --help\n"
           "Exit status: 0 success, 1 failed operation, 2 bad usage.\n");
}

int
main (int argc, char **argv)
{
  PvmClient client = { 0 };
  int i;

  setlocale (LC_ALL, "");
  (void) pvm_error_quark ();
  for (i = 1; i < argc && argv[i][0] == '-'; i++)
    {
      if (g_str_equal (argv[i], "--version"))
        {
          g_print ("project-vm %s\n", PACKAGE_VERSION);
          return EXIT_OK;
        }
      else if (g_str_equal (argv[i], "--help") || g_str_equal (argv[i], "-h"))
        {
          print_help ();
          return EXIT_OK;
        }
      else if (g_str_equal (argv[i], "--no-ask-password"))
        client.no_ask_password = TRUE;
      else
        return pvm_client_usage ("unknown option %s", argv[i]);
    }
  if (i >= argc)
    return pvm_client_usage ("no command given");

  client.interactive = !client.no_ask_password && isatty (STDIN_FILENO);
  for (guint c = 0; c < G_N_ELEMENTS (commands); c++)
    if (g_str_equal (argv[i], commands[c].name))
      return commands[c].run (&client, argc - i, argv + i);
  return pvm_client_usage ("unknown command \"%s\"", argv[i]);
}
