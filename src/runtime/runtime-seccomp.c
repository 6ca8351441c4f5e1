/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* linux.seccomp compiled with libseccomp in the parent; the child only
 * hands the resulting BPF program to seccomp(2). */
#include "config.h"

#include "runtime-seccomp.h"
#include "runtime.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void
release_ctx (scmp_filter_ctx ctx)
{
  seccomp_release (ctx);
}
typedef void *RtSeccompCtx;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RtSeccompCtx, release_ctx)

/* json-glib 1.6 has no _with_default for arrays. */
static JsonArray *
get_array (JsonObject *obj, const char *member, JsonArray *fallback)
{
  JsonNode *node = json_object_get_member (obj, member);

  return node && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : fallback;
}

static gboolean seccomp_fail (GError **error, int r, const char *format, ...) G_GNUC_PRINTF (3, 4);

static gboolean
seccomp_fail (GError **error, int r, const char *format, ...)
{
  g_autofree char *what = NULL;
  va_list args;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, RT_ERROR, RT_ERROR_INVALID, "linux.seccomp: %s: %s", what,
               g_strerror (r < 0 ? -r : r));
  return FALSE;
}

static gboolean
parse_action (JsonObject *obj, const char *member, gint64 default_errno, guint32 *action,
              GError **error)
{
  const char *name = json_object_get_string_member_with_default (obj, member, NULL);
  gint64 errno_ret = json_object_get_int_member_with_default (
    obj, g_str_equal (member, "defaultAction") ? "defaultErrnoRet" : "errnoRet", default_errno);

  if (name == NULL)
    {
      g_set_error (error, RT_ERROR, RT_ERROR_INVALID, "linux.seccomp: %s is missing", member);
      return FALSE;
    }
  if (g_str_equal (name, "SCMP_ACT_ALLOW"))
    *action = SCMP_ACT_ALLOW;
  else if (g_str_equal (name, "SCMP_ACT_ERRNO"))
    *action = SCMP_ACT_ERRNO ((guint16)errno_ret);
  else if (g_str_equal (name, "SCMP_ACT_KILL") || g_str_equal (name, "SCMP_ACT_KILL_THREAD"))
    *action = SCMP_ACT_KILL_THREAD;
  else if (g_str_equal (name, "SCMP_ACT_KILL_PROCESS"))
    *action = SCMP_ACT_KILL_PROCESS;
  else if (g_str_equal (name, "SCMP_ACT_TRAP"))
    *action = SCMP_ACT_TRAP;
  else if (g_str_equal (name, "SCMP_ACT_TRACE"))
    *action = SCMP_ACT_TRACE ((guint16)errno_ret);
  else if (g_str_equal (name, "SCMP_ACT_LOG"))
    *action = SCMP_ACT_LOG;
  else
    {
      g_set_error (error, RT_ERROR, RT_ERROR_INVALID,
                   "linux.seccomp: unsupported action \"%s\" in %s", name, member);
      return FALSE;
    }
  return TRUE;
}

static gboolean
parse_op (const char *name, enum scmp_compare *op)
{
  static const struct
  {
    const char *name;
    enum scmp_compare op;
  } ops[] = {
    { "SCMP_CMP_NE", SCMP_CMP_NE },
    { "SCMP_CMP_LT", SCMP_CMP_LT },
    { "SCMP_CMP_LE", SCMP_CMP_LE },
    { "SCMP_CMP_EQ", SCMP_CMP_EQ },
    { "SCMP_CMP_GE", SCMP_CMP_GE },
    { "SCMP_CMP_GT", SCMP_CMP_GT },
    { "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
  };

  for (gsize i = 0; name && i < G_N_ELEMENTS (ops); i++)
    if (g_str_equal (name, ops[i].name))
      {
        *op = ops[i].op;
        return TRUE;
      }
  return FALSE;
}

static gboolean
add_rule (scmp_filter_ctx ctx, guint32 default_action, JsonObject *rule, guint index,
          GError **error)
{
  JsonArray *names = get_array (rule, "names", NULL);
  JsonArray *args = get_array (rule, "args", NULL);
  guint n_args = args ? json_array_get_length (args) : 0;
  struct scmp_arg_cmp cmps[6];
  gboolean repeated = FALSE;
  guint32 action;

  if (names == NULL)
    {
      g_set_error (error, RT_ERROR, RT_ERROR_INVALID, "linux.seccomp.syscalls[%u].names is missing",
                   index);
      return FALSE;
    }
  if (!parse_action (rule, "action", EPERM, &action, error))
    return FALSE;
  if (n_args > G_N_ELEMENTS (cmps))
    {
      g_set_error (error, RT_ERROR, RT_ERROR_INVALID,
                   "linux.seccomp.syscalls[%u] has more than 6 args", index);
      return FALSE;
    }
  for (guint i = 0; i < n_args; i++)
    {
      JsonObject *a = json_array_get_object_element (args, i);
      enum scmp_compare op;

      if (a == NULL || !parse_op (json_object_get_string_member_with_default (a, "op", NULL), &op))
        {
          g_set_error (error, RT_ERROR, RT_ERROR_INVALID,
                       "linux.seccomp.syscalls[%u].args[%u] needs index, value and a valid op",
                       index, i);
          return FALSE;
        }
      cmps[i].arg = (unsigned int)json_object_get_int_member_with_default (a, "index", 0);
      cmps[i].op = op;
      cmps[i].datum_a = (scmp_datum_t)json_object_get_int_member_with_default (a, "value", 0);
      cmps[i].datum_b = (scmp_datum_t)json_object_get_int_member_with_default (a, "valueTwo", 0);
      for (guint j = 0; j < i; j++)
        if (cmps[j].arg == cmps[i].arg)
          repeated = TRUE;
    }
  if (action == default_action)
    return TRUE;

  for (guint i = 0; i < json_array_get_length (names); i++)
    {
      const char *name = json_array_get_string_element (names, i);
      int nr = name ? seccomp_syscall_resolve_name (name) : __NR_SCMP_ERROR;
      int r;

      /* Names that this kernel's architectures lack are skipped, as every
       * runtime does: profiles list syscalls of all architectures. */
      if (nr == __NR_SCMP_ERROR)
        continue;
      if (repeated)
        {
          /* Conditions on the same argument cannot all hold at once: as in
           * runc, each becomes a rule of its own (they are OR-ed). */
          for (guint k = 0; k < n_args; k++)
            {
              r = seccomp_rule_add_array (ctx, action, nr, 1, &cmps[k]);
              if (r < 0 && r != -EEXIST)
                return seccomp_fail (error, r, "cannot add a rule for %s", name);
            }
          continue;
        }
      r = seccomp_rule_add_array (ctx, action, nr, n_args, cmps);
      if (r < 0 && r != -EEXIST)
        return seccomp_fail (error, r, "cannot add a rule for %s", name);
    }
  return TRUE;
}

static gboolean
parse_flags (JsonObject *obj, unsigned int *out, GError **error)
{
  JsonArray *flags = get_array (obj, "flags", NULL);

  *out = 0;
  for (guint i = 0; flags && i < json_array_get_length (flags); i++)
    {
      const char *flag = json_array_get_string_element (flags, i);
      if (g_strcmp0 (flag, "SECCOMP_FILTER_FLAG_LOG") == 0)
        *out |= SECCOMP_FILTER_FLAG_LOG;
      else if (g_strcmp0 (flag, "SECCOMP_FILTER_FLAG_SPEC_ALLOW") == 0)
        *out |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
      else if (g_strcmp0 (flag, "SECCOMP_FILTER_FLAG_TSYNC") != 0)
        {
          g_set_error (error, RT_ERROR, RT_ERROR_INVALID, "linux.seccomp: unknown flag \"%s\"",
                       flag ? flag : "");
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
compile (JsonNode *node, RtSeccompProgram *program, GError **error)
{
  JsonObject *obj = json_node_get_object (node);
  JsonArray *arches = get_array (obj, "architectures", NULL);
  JsonArray *syscalls = get_array (obj, "syscalls", NULL);
  g_autoptr (RtSeccompCtx) ctx = NULL;
  guint32 default_action;
  int fd, r;
  off_t size;

  if (!parse_action (obj, "defaultAction", EPERM, &default_action, error))
    return FALSE;
  ctx = seccomp_init (default_action);
  if (ctx == NULL)
    return seccomp_fail (error, ENOMEM, "cannot create a filter");
  /* berth-runtime sets no_new_privs itself, as process.noNewPrivileges says. */
  seccomp_attr_set (ctx, SCMP_FLTATR_CTL_NNP, 0);
  /* A binary tree of syscalls rather than a list: every syscall the
   * container makes pays for the filter. */
  seccomp_attr_set (ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);

  for (guint i = 0; arches && i < json_array_get_length (arches); i++)
    {
      const char *name = json_array_get_string_element (arches, i);
      g_autofree char *lower = NULL;
      guint32 arch;

      if (name == NULL)
        continue;
      lower = g_ascii_strdown (g_str_has_prefix (name, "SCMP_ARCH_") ? name + 10 : name, -1);
      arch = seccomp_arch_resolve_name (lower);
      if (arch == 0)
        {
          g_set_error (error, RT_ERROR, RT_ERROR_INVALID,
                       "linux.seccomp: unknown architecture \"%s\"", name);
          return FALSE;
        }
      r = seccomp_arch_add (ctx, arch);
      if (r < 0 && r != -EEXIST)
        return seccomp_fail (error, r, "cannot add architecture %s", name);
    }

  for (guint i = 0; syscalls && i < json_array_get_length (syscalls); i++)
    {
      JsonObject *rule = json_array_get_object_element (syscalls, i);
      if (rule == NULL)
        {
          g_set_error (error, RT_ERROR, RT_ERROR_INVALID,
                       "linux.seccomp.syscalls[%u] must be an object", i);
          return FALSE;
        }
      if (!add_rule (ctx, default_action, rule, i, error))
        return FALSE;
    }

  fd = memfd_create ("berth-seccomp", MFD_CLOEXEC);
  if (fd < 0)
    return seccomp_fail (error, errno, "cannot create a memfd");
  r = seccomp_export_bpf (ctx, fd);
  if (r < 0)
    {
      close (fd);
      return seccomp_fail (error, r, "cannot compile the filter");
    }
  size = lseek (fd, 0, SEEK_END);
  if (size <= 0 || size / sizeof (struct sock_filter) > 0xffff)
    {
      close (fd);
      return seccomp_fail (error, EIO, "the compiled filter has an impossible size");
    }
  program->filter = g_malloc (size);
  if (pread (fd, program->filter, size, 0) != size)
    {
      close (fd);
      g_clear_pointer (&program->filter, g_free);
      return seccomp_fail (error, EIO, "cannot read the compiled filter");
    }
  close (fd);
  program->len = (unsigned short)(size / sizeof (struct sock_filter));
  return TRUE;
}

/* Compiling Docker's profile for three architectures takes libseccomp
 * 15-30 ms, more than the rest of create together; the same profile in the
 * next bundle gives the same program. Programs are kept under the state
 * root (root's, 0700 by default), named by the SHA-256 of the profile and of
 * what else shapes the output. */
static char *
cache_path (JsonNode *node, const char *cache_dir)
{
  g_autofree char *text = json_to_string (node, FALSE);
  const struct scmp_version *v = seccomp_version ();
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree char *name = NULL;
  char version[64];

  g_snprintf (version, sizeof version, "\n%u.%u.%u %u\n", v->major, v->minor, v->micro,
              seccomp_arch_native ());
  g_checksum_update (sum, (const guchar *)text, -1);
  g_checksum_update (sum, (const guchar *)version, -1);
  name = g_strdup_printf ("seccomp-%s.bpf", g_checksum_get_string (sum));
  return g_build_filename (cache_dir, name, NULL);
}

gboolean
rt_seccomp_compile (JsonNode *node, const char *cache_dir, RtSeccompProgram *program,
                    GError **error)
{
  g_autofree char *path = NULL;
  g_autofree char *data = NULL;
  gsize len = 0;

  memset (program, 0, sizeof *program);
  if (!parse_flags (json_node_get_object (node), &program->flags, error))
    return FALSE;
  if (cache_dir)
    {
      path = cache_path (node, cache_dir);
      if (g_file_get_contents (path, &data, &len, NULL) && len > 0
          && len % sizeof (struct sock_filter) == 0 && len / sizeof (struct sock_filter) <= 0xffff)
        {
          program->filter = (struct sock_filter *)g_steal_pointer (&data);
          program->len = (unsigned short)(len / sizeof (struct sock_filter));
          return TRUE;
        }
    }
  if (!compile (node, program, error))
    return FALSE;
  if (path && g_mkdir_with_parents (cache_dir, 0700) == 0)
    rt_write_file_atomic (path, (const char *)program->filter,
                          program->len * sizeof (struct sock_filter), NULL);
  return TRUE;
}
