/* A fixed-size byte queue: the console bridge's bounded buffer each way. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  char *data;
  gsize size;    /* capacity */
  gsize start;   /* index of the oldest byte */
  gsize len;     /* bytes held */
} PvmRing;

void pvm_ring_init (PvmRing *ring, gsize size);
void pvm_ring_clear (PvmRing *ring);

static inline gsize
pvm_ring_room (const PvmRing *ring)
{
  return ring->size - ring->len;
}

/* Appends at most the room there is; returns how many bytes it took. */
gsize pvm_ring_push (PvmRing *ring, const void *data, gsize len);
/* Appends all of DATA, dropping the oldest bytes held (or DATA's own
 * first bytes) to make room; returns how many bytes were dropped. */
gsize pvm_ring_push_overwrite (PvmRing *ring, const void *data, gsize len);
/* The oldest bytes held, as one contiguous run of *LEN bytes. */
const char *pvm_ring_peek (const PvmRing *ring, gsize *len);
/* Forgets the N oldest bytes (at most what is held). */
void pvm_ring_consume (PvmRing *ring, gsize n);

G_END_DECLS
