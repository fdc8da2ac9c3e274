/* ssh: runs ssh to the VM's SshTarget with the caller's own arguments. */
#include "client.h"

#include <errno.h>
#include <unistd.h>

static int
run_ssh (const PvmClient *client, const PvmArgs *args)
{
  const char *name = args->args[0];
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(PvmDBusVM) vm = pvm_client_get_vm (client, name, &error);
  const char *target;

  if (vm == NULL)
    return pvm_client_print_error (error), EXIT_FAILED;
  target = pvm_dbus_vm_get_ssh_target (vm);
  if (target == NULL || *target == '\0')
    return pvm_client_fail ("no address is known for %s yet (state %s); start it with: project-vm start %s --wait",
                            name, pvm_dbus_vm_get_state (vm), name);
  g_ptr_array_add (argv, "ssh");
  g_ptr_array_add (argv, (gpointer) target);
  for (char **a = args->rest; *a != NULL; a++)
    g_ptr_array_add (argv, *a);
  g_ptr_array_add (argv, NULL);
  execvp ("ssh", (char **) argv->pdata);
  return pvm_client_fail ("running ssh: %s", g_strerror (errno));
}

const PvmCommand pvm_command_ssh = {
  "ssh", "NAME [-- SSH-ARGS…]", "Log in to a VM with ssh",
  "Run ssh to the VM's ssh target (user@host from the service), passing on\n"
  "everything after \"--\" untouched: a command to run, or ssh's own options\n"
  "(project-vm ssh web -- -L 8080:localhost:80).",
  NULL, 1, 1, TRUE, run_ssh,
};
