/* Unit tests for service/ring.c, the console bridge's bounded buffers:
 * push takes only the room there is, push_overwrite drops the oldest. */
#include <string.h>

#include "ring.h"

/* Everything held, oldest first (across the wrap). */
static char *
drain (PvmRing *ring)
{
  GString *out = g_string_new (NULL);

  while (ring->len > 0)
    {
      gsize len;
      const char *data = pvm_ring_peek (ring, &len);
      g_string_append_len (out, data, len);
      pvm_ring_consume (ring, len);
    }
  return g_string_free (out, FALSE);
}

static void
test_push_takes_the_room (void)
{
  PvmRing ring;
  g_autofree char *out = NULL;

  pvm_ring_init (&ring, 8);
  g_assert_cmpuint (pvm_ring_push (&ring, "abcdef", 6), ==, 6);
  g_assert_cmpuint (pvm_ring_push (&ring, "ghijkl", 6), ==, 2);
  g_assert_cmpuint (pvm_ring_room (&ring), ==, 0);
  out = drain (&ring);
  g_assert_cmpstr (out, ==, "abcdefgh");
  pvm_ring_clear (&ring);
}

static void
test_wraps (void)
{
  PvmRing ring;
  gsize len;
  g_autofree char *out = NULL;

  pvm_ring_init (&ring, 8);
  pvm_ring_push (&ring, "abcdef", 6);
  pvm_ring_consume (&ring, 4);
  g_assert_cmpuint (pvm_ring_push (&ring, "ghijkl", 6), ==, 6);
  g_assert_cmpuint (ring.len, ==, 8);
  /* the first contiguous run ends at the end of the storage */
  g_assert_true (memcmp (pvm_ring_peek (&ring, &len), "efgh", 4) == 0);
  g_assert_cmpuint (len, ==, 4);
  out = drain (&ring);
  g_assert_cmpstr (out, ==, "efghijkl");
  pvm_ring_clear (&ring);
}

static void
test_overwrite_drops_the_oldest (void)
{
  PvmRing ring;
  g_autofree char *out = NULL;
  g_autofree char *out2 = NULL;

  pvm_ring_init (&ring, 8);
  g_assert_cmpuint (pvm_ring_push_overwrite (&ring, "abcdef", 6), ==, 0);
  g_assert_cmpuint (pvm_ring_push_overwrite (&ring, "ghij", 4), ==, 2);
  out = drain (&ring);
  g_assert_cmpstr (out, ==, "cdefghij");
  /* more than fits at once: only its newest bytes stay */
  pvm_ring_push (&ring, "xy", 2);
  g_assert_cmpuint (pvm_ring_push_overwrite (&ring, "0123456789", 10), ==, 4);
  out2 = drain (&ring);
  g_assert_cmpstr (out2, ==, "23456789");
  pvm_ring_clear (&ring);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ring/push-takes-the-room", test_push_takes_the_room);
  g_test_add_func ("/ring/wraps", test_wraps);
  g_test_add_func ("/ring/overwrite-drops-the-oldest", test_overwrite_drops_the_oldest);
  return g_test_run ();
}
