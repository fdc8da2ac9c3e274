/* project-vm: the command-line client of the project-vm service. */
#include "build-config.h"

#include <locale.h>
#include <string.h>

#include "client.h"
#include "errors.h"

static const PvmCommand *const commands[] = {
  &pvm_command_create, &pvm_command_start, &pvm_command_stop, &pvm_command_destroy,
  &pvm_command_ssh, &pvm_command_console, &pvm_command_list, &pvm_command_status,
  &pvm_command_monitor, &pvm_command_disk, &pvm_command_quota,
};

static const PvmCommand *
find_command (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_str_equal (name, commands[i]->name))
      return commands[i];
  return NULL;
}

/* The command list is also what the bash completion reads: one
 * "  NAME  SUMMARY" line per command under "Commands:". */
static void
print_help (void)
{
  g_print ("Usage:\n  project-vm [--no-ask-password] COMMAND [OPTION…] [ARGS…]\n\n"
           "Per-project virtual machines, managed by the project-vm service.\n\n"
           "Commands:\n");
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    g_print ("  %-9s %s\n", commands[i]->name, commands[i]->summary);
  g_print ("  %-9s %s\n", "help", "Show the help of a command");
  g_print ("\nGlobal options:\n"
           "  --no-ask-password  Never ask for a password (also after the command)\n"
           "  --version          Show the version\n"
           "  -h, --help         Show this help\n"
           "\nSizes are MiB as plain numbers, or have a K, M, G or T suffix (4096, 4G, 50G).\n"
           "Exit status: 0 success, 1 failed operation, 2 bad usage.\n"
           "\"project-vm help COMMAND\" or \"project-vm COMMAND --help\" shows a command's options.\n");
}

/* project-vm help [COMMAND] */
static int
help (const PvmClient *client, int argc, char **argv)
{
  const PvmCommand *command;

  if (argc < 2 || g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h"))
    {
      print_help ();
      return EXIT_OK;
    }
  if (argc > 2)
    return pvm_client_usage (client, "help takes one command name");
  command = find_command (argv[1]);
  if (command == NULL)
    return pvm_client_usage (client, "unknown command \"%s\"", argv[1]);
  pvm_command_print_help (command);
  return EXIT_OK;
}

int
main (int argc, char **argv)
{
  PvmClient client = { 0 };
  const PvmCommand *command;
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
        return pvm_client_usage (&client, "unknown option %s", argv[i]);
    }
  if (i >= argc)
    return pvm_client_usage (&client, "no command given");
  if (g_str_equal (argv[i], "help"))
    return help (&client, argc - i, argv + i);
  command = find_command (argv[i]);
  if (command == NULL)
    return pvm_client_usage (&client, "unknown command \"%s\"", argv[i]);
  client.command = command->name;
  return pvm_command_main (&client, command, argc - i, argv + i);
}
