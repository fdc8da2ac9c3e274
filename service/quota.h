/* Quotas: the limits that apply to one uid ([quota], [quota user NAME],
 * [quota group NAME]) and the message of a refusal. Counting what a user
 * uses is the Manager's (it holds the VMs, the kept disks and the Creates
 * in flight). */
#pragma once

#include "config.h"

G_BEGIN_DECLS

/* UID's limits, 0 = no limit: per key, the user's own section if it sets
 * the key; else the most generous of the sections of the user's groups
 * that set it (0 beats any number); else [quota]. Root has none. */
void pvm_quota_limits_for (const PvmConfig *config, guint32 uid,
                           guint64 limits[PVM_QUOTA_N_KEYS]);

G_END_DECLS
