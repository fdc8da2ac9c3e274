/* console: the VM's serial console through a file descriptor the service
 * passes; the terminal is raw while attached and restored on every exit. */
#include "client.h"
#include "fdio.h"

#include <errno.h>
#include <glib-unix.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#define CTRL_RIGHT_BRACKET 0x1d

static struct termios saved_termios;
static gboolean termios_saved;

static void
restore_terminal (void)
{
  if (termios_saved)
    tcsetattr (STDIN_FILENO, TCSAFLUSH, &saved_termios);
  termios_saved = FALSE;
}

static void
on_fatal_signal (int sig)
{
  restore_terminal ();
  signal (sig, SIG_DFL);
  raise (sig);
}

static void
make_raw (void)
{
  struct termios raw;

  if (!isatty (STDIN_FILENO) || tcgetattr (STDIN_FILENO, &saved_termios) < 0)
    return;
  termios_saved = TRUE;
  atexit (restore_terminal);
  signal (SIGTERM, on_fatal_signal);
  signal (SIGHUP, on_fatal_signal);
  signal (SIGINT, on_fatal_signal);
  raw = saved_termios;
  cfmakeraw (&raw);
  tcsetattr (STDIN_FILENO, TCSAFLUSH, &raw);
}

/* Copies both ways until the console closes, Ctrl-] is typed, or (when
 * stdin is not a terminal) stdin ends and the guest has been quiet. */
static int
pump (int fd)
{
  gboolean tty = isatty (STDIN_FILENO);
  gboolean stdin_open = TRUE;
  char buf[4096];

  for (;;)
    {
      struct pollfd pfd[2] = { { fd, POLLIN, 0 }, { STDIN_FILENO, POLLIN, 0 } };
      int n = poll (pfd, stdin_open ? 2 : 1, stdin_open ? -1 : 2000);

      if (n < 0 && errno == EINTR)
        continue;
      if (n == 0)
        return EXIT_OK;   /* input ended and the guest has gone quiet */
      if (pfd[0].revents)
        {
          ssize_t got = read (fd, buf, sizeof buf);
          if (got <= 0)
            {
              restore_terminal ();
              g_printerr ("\r\nproject-vm: the console closed\n");
              return EXIT_OK;
            }
          pvm_write_all (STDOUT_FILENO, buf, got, -1);
        }
      if (stdin_open && pfd[1].revents)
        {
          ssize_t got = read (STDIN_FILENO, buf, sizeof buf);
          if (got <= 0)
            {
              stdin_open = FALSE;
              continue;
            }
          if (tty && memchr (buf, CTRL_RIGHT_BRACKET, got) != NULL)
            return EXIT_OK;
          if (!pvm_write_all (fd, buf, got, -1))
            return EXIT_OK;
        }
    }
}

static int
run_console (const PvmClient *client, const PvmArgs *args)
{
  const char *name = args->args[0];
  g_autoptr(GError) error = NULL;
  g_autoptr(PvmDBusVM) vm = NULL;
  g_autoptr(GUnixFDList) out_fds = NULL;
  g_autoptr(GVariant) reply = NULL;
  gint32 index;
  int fd, status;

  vm = pvm_client_get_vm (client, name, &error);
  if (vm == NULL)
    return pvm_client_print_error (error), EXIT_FAILED;
  reply = pvm_client_call (client, vm, "OpenConsole", g_variant_new ("(a{sv})", NULL),
                           -1, &out_fds, &error);
  if (reply == NULL)
    return pvm_client_print_error (error), EXIT_FAILED;
  g_variant_get (reply, "(h)", &index);
  fd = g_unix_fd_list_get (out_fds, index, &error);
  if (fd < 0)
    return pvm_client_print_error (error), EXIT_FAILED;

  if (isatty (STDIN_FILENO))
    g_printerr ("Connected to the serial console of %s. Ctrl-] leaves.\r\n", name);
  make_raw ();
  status = pump (fd);
  restore_terminal ();
  close (fd);
  if (isatty (STDIN_FILENO))
    g_printerr ("\n");
  return status;
}

const PvmCommand pvm_command_console = {
  "console", "NAME", "Attach the terminal to a VM's serial console",
  "Attach the terminal (raw mode) to the VM's serial console, through a file\n"
  "descriptor the service passes: no libvirt access is needed. Ctrl-] leaves;\n"
  "the terminal is restored on every way out.",
  NULL, 1, 1, FALSE, run_console,
};
