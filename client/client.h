/* Shared pieces of the project-vm client: the bus objects, error reporting
 * and output helpers. The client speaks only D-Bus. */
#pragma once

#include <gio/gio.h>
#include <gio/gunixfdlist.h>

#include "pvm-generated.h"

G_BEGIN_DECLS

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

typedef struct {
  gboolean no_ask_password;
  gboolean interactive;     /* allow polkit to ask for a password */
} PvmClient;

/* Prints "project-vm: MESSAGE" on stderr, without D-Bus error prefixes. */
void pvm_client_print_error (const GError *error);
int pvm_client_fail (const char *fmt, ...) G_GNUC_PRINTF (1, 2);
int pvm_client_usage (const char *fmt, ...) G_GNUC_PRINTF (1, 2);

/* The object manager client for org.projectvm, or NULL with an error saying
 * the service is not running. */
GDBusObjectManager *pvm_client_object_manager (GError **error);
/* The VM proxy of NAME via Manager.GetVM (errors are the service's). */
PvmDBusVM *pvm_client_get_vm (const PvmClient *client, const char *name, GError **error);
PvmDBusManager *pvm_client_get_manager (GError **error);
/* Flags for a method call that may need polkit authentication. */
GDBusCallFlags pvm_client_call_flags (const PvmClient *client);

/* A method call with the client's interactive-authorization flag and a
 * timeout in ms (the generated calls offer neither). */
GVariant *pvm_client_call (const PvmClient *client, gpointer proxy, const char *method,
                           GVariant *params, int timeout_ms, GUnixFDList **out_fds,
                           GError **error);
void pvm_client_call_async (const PvmClient *client, gpointer proxy, const char *method,
                            GVariant *params, int timeout_ms, GAsyncReadyCallback cb,
                            gpointer data);

/* A JSON string literal for TEXT, appended to OUT. */
void pvm_json_string (GString *out, const char *text);
char *pvm_format_mib (guint64 mib);
char *pvm_owner_name (guint32 uid);

/* Commands. Each returns an exit status. */
int pvm_cmd_list (const PvmClient *client, int argc, char **argv);
int pvm_cmd_status (const PvmClient *client, int argc, char **argv);
int pvm_cmd_monitor (const PvmClient *client, int argc, char **argv);
int pvm_cmd_create (const PvmClient *client, int argc, char **argv);
int pvm_cmd_destroy (const PvmClient *client, int argc, char **argv);
int pvm_cmd_start (const PvmClient *client, int argc, char **argv);
int pvm_cmd_stop (const PvmClient *client, int argc, char **argv);
int pvm_cmd_ssh (const PvmClient *client, int argc, char **argv);
int pvm_cmd_console (const PvmClient *client, int argc, char **argv);

G_END_DECLS
