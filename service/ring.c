#include "ring.h"

#include <string.h>

void
pvm_ring_init (PvmRing *ring, gsize size)
{
  ring->data = g_malloc (size);
  ring->size = size;
  ring->start = ring->len = 0;
}

void
pvm_ring_clear (PvmRing *ring)
{
  g_clear_pointer (&ring->data, g_free);
  ring->size = ring->start = ring->len = 0;
}

gsize
pvm_ring_push (PvmRing *ring, const void *data, gsize len)
{
  gsize n = MIN (len, pvm_ring_room (ring));
  gsize end = (ring->start + ring->len) % MAX (ring->size, 1);
  gsize first = MIN (n, ring->size - end);

  memcpy (ring->data + end, data, first);
  memcpy (ring->data, (const char *) data + first, n - first);
  ring->len += n;
  return n;
}

gsize
pvm_ring_push_overwrite (PvmRing *ring, const void *data, gsize len)
{
  gsize dropped = 0;

  if (len > ring->size)
    {
      dropped = len - ring->size;
      data = (const char *) data + dropped;
      len = ring->size;
    }
  if (len > pvm_ring_room (ring))
    {
      gsize old = len - pvm_ring_room (ring);
      pvm_ring_consume (ring, old);
      dropped += old;
    }
  pvm_ring_push (ring, data, len);
  return dropped;
}

const char *
pvm_ring_peek (const PvmRing *ring, gsize *len)
{
  *len = MIN (ring->len, ring->size - ring->start);
  return ring->data + ring->start;
}

void
pvm_ring_consume (PvmRing *ring, gsize n)
{
  n = MIN (n, ring->len);
  ring->len -= n;
  ring->start = ring->len == 0 ? 0 : (ring->start + n) % ring->size;
}
