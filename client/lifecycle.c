/* create, start, stop, destroy, ssh and console. */
#include "client.h"

static int
not_yet (const char *what)
{
  return pvm_client_fail ("%s is not implemented yet", what);
}

int pvm_cmd_create (const PvmClient *c, int argc, char **argv) { return not_yet ("create"); }
int pvm_cmd_destroy (const PvmClient *c, int argc, char **argv) { return not_yet ("destroy"); }
int pvm_cmd_start (const PvmClient *c, int argc, char **argv) { return not_yet ("start"); }
int pvm_cmd_stop (const PvmClient *c, int argc, char **argv) { return not_yet ("stop"); }
int pvm_cmd_ssh (const PvmClient *c, int argc, char **argv) { return not_yet ("ssh"); }
int pvm_cmd_console (const PvmClient *c, int argc, char **argv) { return not_yet ("console"); }
