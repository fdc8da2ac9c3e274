#include "fdio.h"

#include <errno.h>
#include <unistd.h>

gboolean
pvm_write_all (int fd, const void *data, gsize len, int wait_ms)
{
  const char *buf = data;

  while (len > 0)
    {
      ssize_t n = write (fd, buf, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        {
          GPollFD pfd = { fd, G_IO_OUT, 0 };
          if (g_poll (&pfd, 1, wait_ms) <= 0)
            return FALSE;
          continue;
        }
      if (n <= 0)
        return FALSE;
      buf += n;
      len -= n;
    }
  return TRUE;
}
