/* A command's options: one GOptionContext per command, as udisksctl does,
 * with the command's name in the program name of its usage line, so that
 * `project-vm stop --help` and `project-vm help stop` describe stop. */
#include "client.h"

#include <unistd.h>

static gboolean opt_help;
static gboolean opt_no_ask_password;

/* Taken by every command, after its own options. */
static const GOptionEntry common_entries[] = {
  { "no-ask-password", 0, 0, G_OPTION_ARG_NONE, &opt_no_ask_password,
    "Never ask for a password; fail when polkit wants one", NULL },
  { "help", 'h', 0, G_OPTION_ARG_NONE, &opt_help, "Show this help", NULL },
  G_OPTION_ENTRY_NULL
};

static GOptionContext *
command_context (const PvmCommand *command)
{
  GOptionContext *context = g_option_context_new (command->parameters);
  g_autofree char *prgname = g_strconcat ("project-vm ", command->name, NULL);

  /* GOption names the program in the usage line; one command runs per
   * process, so this is set once. */
  g_set_prgname (prgname);
  /* Our own --help, so that both ways print the same text, and unknown
   * options are left to us, to report in one line. */
  g_option_context_set_help_enabled (context, FALSE);
  g_option_context_set_ignore_unknown_options (context, TRUE);
  g_option_context_set_summary (context, command->description);
  if (command->entries != NULL)
    g_option_context_add_main_entries (context, command->entries, NULL);
  g_option_context_add_main_entries (context, common_entries, NULL);
  return context;
}

void
pvm_command_print_help (const PvmCommand *command)
{
  g_autoptr(GOptionContext) context = command_context (command);
  g_autofree char *help = g_option_context_get_help (context, TRUE, NULL);

  g_print ("%s", help);
}

static gboolean
is_option (const char *arg)
{
  return arg[0] == '-' && arg[1] != '\0';
}

/* GOption fails only on a value it cannot take: with our string options,
 * one missing at the end ("--image" last). Said in our words when so. */
static int
option_error (const PvmClient *client, char **argv, const GError *error)
{
  guint last = g_strv_length (argv) - 1;

  if (g_error_matches (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE) && last > 0 &&
      is_option (argv[last]))
    return pvm_client_usage (client, "%s needs a value", argv[last]);
  return pvm_client_usage (client, "%s", error->message);
}

static int
unknown_option (const PvmClient *client, const PvmCommand *command, const char *option)
{
  if (command->passes_rest)
    return pvm_client_usage (client, "unknown option %s (%s's own options go after \"--\")",
                             option, command->name);
  return pvm_client_usage (client, "unknown option %s", option);
}

static int
wrong_arg_count (const PvmClient *client, const PvmCommand *command)
{
  if (command->max_args == 0)
    return pvm_client_usage (client, "%s takes no arguments", command->name);
  if (command->min_args == 1 && command->max_args == 1)
    return pvm_client_usage (client, "%s takes one VM name", command->name);
  return pvm_client_usage (client, "%s takes %s", command->name, command->parameters);
}

/* ARGV up to "--" (not included), as a string vector for GOption. */
static char **
options_part (int argc, char **argv, int *end)
{
  GPtrArray *part = g_ptr_array_new ();

  for (*end = 0; *end < argc && !g_str_equal (argv[*end], "--"); (*end)++)
    g_ptr_array_add (part, g_strdup (argv[*end]));
  g_ptr_array_add (part, NULL);
  return (char **) g_ptr_array_free (part, FALSE);
}

int
pvm_command_main (PvmClient *client, const PvmCommand *command, int argc, char **argv)
{
  g_autoptr(GOptionContext) context = command_context (command);
  g_autoptr(GPtrArray) positional = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) options = NULL;
  char **rest = argv + argc;
  PvmArgs args;
  int end;

  /* What follows "--" is never parsed: ssh's own arguments stay untouched,
   * and for other commands it is positional. */
  options = options_part (argc, argv, &end);
  if (!g_option_context_parse_strv (context, &options, &error))
    return option_error (client, options, error);
  if (opt_help)
    {
      pvm_command_print_help (command);
      return EXIT_OK;
    }
  for (guint i = 1; options[i] != NULL; i++)
    {
      if (is_option (options[i]))
        return unknown_option (client, command, options[i]);
      g_ptr_array_add (positional, options[i]);
    }
  if (end < argc && command->passes_rest)
    rest = argv + end + 1;
  else
    for (int i = end + 1; i < argc; i++)
      g_ptr_array_add (positional, argv[i]);
  if (positional->len < command->min_args || positional->len > command->max_args)
    return wrong_arg_count (client, command);

  client->no_ask_password |= opt_no_ask_password;
  client->interactive = !client->no_ask_password && isatty (STDIN_FILENO);
  args.n_args = positional->len;
  g_ptr_array_add (positional, NULL);
  args.args = (char **) positional->pdata;
  args.rest = rest;
  return command->run (client, &args);
}
