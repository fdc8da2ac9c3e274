#include "quota.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

/* The user's name and the names of all its groups (primary included);
 * FALSE when the uid has no passwd entry. */
static gboolean
user_and_groups (guint32 uid, char **user, GPtrArray *groups)
{
  struct passwd pw, *pwp = NULL;
  char buf[16384];
  int n = 64;
  g_autofree gid_t *gids = NULL;

  if (getpwuid_r (uid, &pw, buf, sizeof buf, &pwp) != 0 || pwp == NULL)
    return FALSE;
  *user = g_strdup (pw.pw_name);
  gids = g_new (gid_t, n);
  if (getgrouplist (pw.pw_name, pw.pw_gid, gids, &n) < 0)
    {
      gids = g_renew (gid_t, gids, n);
      if (getgrouplist (pw.pw_name, pw.pw_gid, gids, &n) < 0)
        n = 0;
    }
  for (int i = 0; i < n; i++)
    {
      struct group gr, *grp = NULL;
      char gbuf[16384];

      if (getgrgid_r (gids[i], &gr, gbuf, sizeof gbuf, &grp) == 0 && grp != NULL)
        g_ptr_array_add (groups, g_strdup (gr.gr_name));
    }
  return TRUE;
}

static const PvmQuotaSection *
find (GPtrArray *sections, const char *name)
{
  for (guint i = 0; i < sections->len; i++)
    {
      const PvmQuotaSection *q = g_ptr_array_index (sections, i);
      if (g_str_equal (q->name, name))
        return q;
    }
  return NULL;
}

void
pvm_quota_limits_for (const PvmConfig *config, guint32 uid,
                      guint64 limits[PVM_QUOTA_N_KEYS])
{
  g_autoptr(GPtrArray) groups = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *user = NULL;
  const PvmQuotaSection *own = NULL;

  for (guint k = 0; k < PVM_QUOTA_N_KEYS; k++)
    limits[k] = 0;
  if (uid == 0)
    return;
  if (user_and_groups (uid, &user, groups))
    own = find (config->quota_users, user);
  for (guint k = 0; k < PVM_QUOTA_N_KEYS; k++)
    {
      gboolean from_group = FALSE;
      guint64 best = 0;

      if (own != NULL && (own->set & (1u << k)))
        {
          limits[k] = own->limit[k];
          continue;
        }
      for (guint i = 0; i < groups->len; i++)
        {
          const PvmQuotaSection *q = find (config->quota_groups,
                                           g_ptr_array_index (groups, i));

          if (q == NULL || !(q->set & (1u << k)))
            continue;
          /* 0 is no limit: nothing is more generous. */
          if (!from_group)
            best = q->limit[k];
          else if (best != 0)
            best = q->limit[k] == 0 ? 0 : MAX (best, q->limit[k]);
          from_group = TRUE;
        }
      limits[k] = from_group ? best : config->quota.limit[k];
    }
}
