/* Shared pieces of the project-vm client: the commands, the bus objects,
 * error reporting and output helpers. The client speaks only D-Bus. */
#pragma once

#include <gio/gio.h>
#include <gio/gunixfdlist.h>
#include <json-glib/json-glib.h>

#include "pvm-generated.h"

G_BEGIN_DECLS

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

typedef struct {
  gboolean no_ask_password;
  gboolean interactive;     /* allow polkit to ask for a password */
  const char *command;      /* for "see project-vm COMMAND --help" */
} PvmClient;

/* What a command's run function gets once its options are parsed. */
typedef struct {
  char **args;              /* positional arguments, NULL-terminated */
  guint n_args;
  char **rest;              /* after "--" for a command that passes it on (ssh) */
} PvmArgs;

typedef struct {
  const char *name;
  const char *parameters;   /* the usage line after [OPTION…] */
  const char *summary;      /* one line, for project-vm help */
  const char *description;  /* the paragraph of project-vm COMMAND --help */
  const GOptionEntry *entries;   /* the command's own options, or NULL */
  guint min_args, max_args;
  gboolean passes_rest;     /* what follows "--" goes to another program */
  int (*run) (const PvmClient *client, const PvmArgs *args);
} PvmCommand;

extern const PvmCommand pvm_command_create, pvm_command_start, pvm_command_stop,
    pvm_command_destroy, pvm_command_ssh, pvm_command_console, pvm_command_list,
    pvm_command_status, pvm_command_monitor, pvm_command_disk, pvm_command_quota;

/* options.c: parses ARGV (ARGV[0] is the command's name) with the command's
 * options and runs it; --help prints its help. Returns an exit status. */
int pvm_command_main (PvmClient *client, const PvmCommand *command, int argc, char **argv);
void pvm_command_print_help (const PvmCommand *command);

/* Prints "project-vm: MESSAGE" on stderr, without D-Bus error prefixes, and
 * with what to do next when the service is not running or polkit said no. */
void pvm_client_print_error (const GError *error);
int pvm_client_fail (const char *fmt, ...) G_GNUC_PRINTF (1, 2);
/* A usage error (exit 2): "project-vm: MESSAGE; see project-vm CMD --help". */
int pvm_client_usage (const PvmClient *client, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

/* The object manager client for org.projectvm, or NULL with an error saying
 * the service is not running. */
GDBusObjectManager *pvm_client_object_manager (GError **error);
/* All VM interfaces under the object manager, sorted by name. */
GPtrArray *pvm_client_list_vms (GDBusObjectManager *om);
/* The VM proxy of NAME via Manager.GetVM; a NotFound error names the VMs
 * whose names are close to NAME. */
PvmDBusVM *pvm_client_get_vm (const PvmClient *client, const char *name, GError **error);
PvmDBusManager *pvm_client_get_manager (GError **error);

/* A method call with the client's interactive-authorization flag and a
 * timeout in ms (the generated calls offer neither). */
GVariant *pvm_client_call (const PvmClient *client, gpointer proxy, const char *method,
                           GVariant *params, int timeout_ms, GUnixFDList **out_fds,
                           GError **error);
void pvm_client_call_async (const PvmClient *client, gpointer proxy, const char *method,
                            GVariant *params, int timeout_ms, GAsyncReadyCallback cb,
                            gpointer data);

/* Asks QUESTION on the terminal; TRUE for an answer starting with y. */
gboolean pvm_confirm (const char *question);

/* suggest.c: the names of VMS within a small edit distance of NAME or
 * starting with it, closest first, as "a, b or c"; NULL when none is. */
char *pvm_close_names (const char *name, GPtrArray *vms);

/* output.c */
void pvm_print_json (JsonNode *root);
void pvm_json_add_string (JsonBuilder *b, const char *member, const char *value);
void pvm_json_add_int (JsonBuilder *b, const char *member, gint64 value);
JsonNode *pvm_vm_to_json (PvmDBusVM *vm);
/* Whether stdout takes colour: a terminal, NO_COLOR empty or unset, and a
 * TERM that is not "dumb". */
gboolean pvm_use_colour (void);
/* STATE, coloured when COLOUR, padded with spaces to WIDTH columns. */
char *pvm_format_state (const char *state, gboolean colour, int width);
char *pvm_format_cpus (guint cpus);
char *pvm_format_mib (guint64 mib);
char *pvm_owner_name (guint32 uid);

G_END_DECLS
