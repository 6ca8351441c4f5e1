/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* linux.resources.devices as an eBPF program of type CGROUP_DEVICE,
 * attached to the container's cgroup2 directory. This is how device access
 * is controlled on cgroup v2; on a hybrid host the kernel runs the program
 * of the unified hierarchy's cgroup too, so berth-runtime uses it there
 * as well and needs no v1 devices cgroup (whose membership would cost a
 * process migration, an RCU grace period, on every create).
 *
 * The program sees (type | access << 16, major, minor). Rules are checked
 * from the last to the first, and the first that matches decides, as later
 * OCI rules override earlier ones: an allow rule matches when the access
 * asked for is within the rule's, a deny rule when they share any bit.
 * Nothing matching: denied. */
#include "config.h"

#include "runtime-cgroup-setup.h"

#include <errno.h>
#include <linux/bpf.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static struct bpf_insn
insn (guint8 code, guint8 dst, guint8 src, gint16 off, gint32 imm)
{
  struct bpf_insn i;

  memset (&i, 0, sizeof i);
  i.code = code;
  i.dst_reg = dst;
  i.src_reg = src;
  i.off = off;
  i.imm = imm;
  return i;
}

#define LDX_W(dst, src, off) insn (BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0)
#define ALU32_IMM(op, dst, imm) insn (BPF_ALU | (op) | BPF_K, dst, 0, 0, imm)
#define MOV32_REG(dst, src) insn (BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0)
#define MOV64_IMM(dst, imm) insn (BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm)
#define JMP_IMM(op, dst, imm, off) insn (BPF_JMP | (op) | BPF_K, dst, 0, off, imm)
#define EXIT() insn (BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

static guint32
access_bits (const char *access)
{
  guint32 bits = 0;

  if (strchr (access, 'm'))
    bits |= BPF_DEVCG_ACC_MKNOD;
  if (strchr (access, 'r'))
    bits |= BPF_DEVCG_ACC_READ;
  if (strchr (access, 'w'))
    bits |= BPF_DEVCG_ACC_WRITE;
  return bits;
}

/* Appends one rule; every "no match" jumps past its end. Returns whether
 * the rule matches everything (what follows it could never run, and the
 * verifier refuses unreachable code). */
static gboolean
add_rule (GArray *prog, const RtDeviceRule *rule)
{
  struct bpf_insn block[16];
  int n = 0;
  int jumps[8], n_jumps = 0;
  guint32 bits = access_bits (rule->access);

  if (rule->type != 'a')
    {
      jumps[n_jumps++] = n;
      block[n++] = JMP_IMM (BPF_JNE, BPF_REG_2,
                            rule->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR, 0);
    }
  if (bits != (BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE))
    {
      block[n++] = MOV32_REG (BPF_REG_1, BPF_REG_3);
      if (rule->allow)
        {
          /* requested & ~allowed must be empty */
          block[n++] = ALU32_IMM (BPF_AND, BPF_REG_1, (gint32)~bits);
          jumps[n_jumps++] = n;
          block[n++] = JMP_IMM (BPF_JNE, BPF_REG_1, 0, 0);
        }
      else
        {
          /* requested & denied must not be empty */
          block[n++] = ALU32_IMM (BPF_AND, BPF_REG_1, (gint32)bits);
          jumps[n_jumps++] = n;
          block[n++] = JMP_IMM (BPF_JEQ, BPF_REG_1, 0, 0);
        }
    }
  if (rule->major >= 0)
    {
      jumps[n_jumps++] = n;
      block[n++] = JMP_IMM (BPF_JNE, BPF_REG_4, (gint32)rule->major, 0);
    }
  if (rule->minor >= 0)
    {
      jumps[n_jumps++] = n;
      block[n++] = JMP_IMM (BPF_JNE, BPF_REG_5, (gint32)rule->minor, 0);
    }
  block[n++] = MOV64_IMM (BPF_REG_0, rule->allow ? 1 : 0);
  block[n++] = EXIT ();
  for (int j = 0; j < n_jumps; j++)
    block[jumps[j]].off = (gint16)(n - jumps[j] - 1);
  g_array_append_vals (prog, block, n);
  return n_jumps == 0;
}

gboolean
rt_devices_bpf_attach (const RtSpec *spec, int cgroup_fd, GError **error)
{
  g_autoptr (GArray) prog = g_array_new (FALSE, FALSE, sizeof (struct bpf_insn));
  struct bpf_insn prologue[] = {
    LDX_W (BPF_REG_2, BPF_REG_1, offsetof (struct bpf_cgroup_dev_ctx, access_type)),
    ALU32_IMM (BPF_AND, BPF_REG_2, 0xffff),
    LDX_W (BPF_REG_3, BPF_REG_1, offsetof (struct bpf_cgroup_dev_ctx, access_type)),
    ALU32_IMM (BPF_RSH, BPF_REG_3, 16),
    LDX_W (BPF_REG_4, BPF_REG_1, offsetof (struct bpf_cgroup_dev_ctx, major)),
    LDX_W (BPF_REG_5, BPF_REG_1, offsetof (struct bpf_cgroup_dev_ctx, minor)),
  };
  struct bpf_insn epilogue[] = { MOV64_IMM (BPF_REG_0, 0), EXIT () };
  g_autofree char *log = NULL;
  union bpf_attr attr;
  int prog_fd, r;
  gboolean complete = FALSE;

  g_array_append_vals (prog, prologue, G_N_ELEMENTS (prologue));
  for (gsize i = spec->n_device_rules; i > 0 && !complete; i--)
    complete = add_rule (prog, &spec->device_rules[i - 1]);
  if (!complete)
    g_array_append_vals (prog, epilogue, G_N_ELEMENTS (epilogue));

  memset (&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = (guint64)(guintptr)prog->data;
  attr.insn_cnt = prog->len;
  attr.license = (guint64)(guintptr) "LGPL";
  prog_fd = (int)syscall (SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
  if (prog_fd < 0)
    {
      int errsv = errno;

      /* Again with the verifier's log, to say why. */
      log = g_malloc0 (65536);
      attr.log_buf = (guint64)(guintptr)log;
      attr.log_size = 65536;
      attr.log_level = 1;
      syscall (SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
      g_set_error (error, RT_ERROR, RT_ERROR_FAILED,
                   "cannot load the device access program for linux.resources.devices: %s%s%s",
                   g_strerror (errsv), *log ? ": " : "", g_strstrip (log));
      return FALSE;
    }

  memset (&attr, 0, sizeof attr);
  attr.target_fd = cgroup_fd;
  attr.attach_bpf_fd = prog_fd;
  attr.attach_type = BPF_CGROUP_DEVICE;
  /* Multi: a program the cgroup's parent has (systemd's, berthd's) keeps
   * applying as well. */
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  r = (int)syscall (SYS_bpf, BPF_PROG_ATTACH, &attr, sizeof attr);
  close (prog_fd);
  if (r < 0)
    {
      int errsv = errno;
      g_set_error (error, RT_ERROR, RT_ERROR_FAILED,
                   "cannot attach the device access program to the cgroup: %s", g_strerror (errsv));
      return FALSE;
    }
  return TRUE;
}
