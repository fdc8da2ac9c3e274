/* Has cloud-init finished this boot? cloud-init prints its final_message
 * (with PVM_READY_MARKER, see seed.h) on the serial console at the end of
 * every boot; virtlogd writes the console to a log that libvirt truncates
 * at each start (append='off'). So the marker in the log means: this boot. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The CloudInit property. */
typedef enum {
  PVM_CLOUD_INIT_UNKNOWN,   /* not running, or no console log to watch */
  PVM_CLOUD_INIT_PENDING,   /* booting, cloud-init not finished */
  PVM_CLOUD_INIT_DONE,      /* finished this boot */
} PvmCloudInit;

const char *pvm_cloud_init_name (PvmCloudInit value);

typedef struct _PvmReadiness PvmReadiness;
typedef void (*PvmReadyFunc) (PvmReadiness *readiness, gpointer user_data);

/* Polls LOG_PATH off the main thread until the marker shows; then calls
 * FUNC once. */
PvmReadiness *pvm_readiness_new (const char *log_path, PvmReadyFunc func,
                                 gpointer user_data);
void pvm_readiness_free (PvmReadiness *readiness);

/* Finds the marker in BUF, given the TAIL kept from before; returns the new
 * tail to keep. Exposed for the unit tests. */
gboolean pvm_readiness_scan (const char *tail, const char *buf, gsize len,
                             char **new_tail);

G_END_DECLS
