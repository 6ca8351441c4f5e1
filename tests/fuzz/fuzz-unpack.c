/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The layer unpacker on arbitrary bytes: whatever it accepts or refuses,
 * nothing may appear outside the destination directory. */
#include "config.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth-fd.h"
#include "berth-fsutil.h"
#include "berth-unpack.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *base = g_dir_make_tmp ("berth-fuzz-unpack-XXXXXX", NULL);
  g_autofree char *dest = g_build_filename (base, "dest", NULL);
  berth_autofd int blob = memfd_create ("fuzz", MFD_CLOEXEC);
  berth_autofd int dest_fd = -1;
  berth_autofd int base_fd = -1;
  BerthUnpackOptions options = BERTH_UNPACK_OPTIONS_INIT;
  g_auto (BerthUnpackResult) result = { 0 };
  g_autoptr (GDir) dir = NULL;
  const char *name;
  int entries = 0;

  g_assert_nonnull (base);
  g_assert_cmpint (mkdir (dest, 0755), ==, 0);
  g_assert_cmpint (write (blob, data, size), ==, (ssize_t)size);
  lseek (blob, 0, SEEK_SET);
  dest_fd = open (dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  options.max_size = 64 << 20;
  berth_unpack_layer (blob, dest_fd, &options, &result, NULL, NULL);

  /* Only "dest" may exist beside the destination. */
  dir = g_dir_open (base, 0, NULL);
  while ((name = g_dir_read_name (dir)))
    {
      g_assert_cmpstr (name, ==, "dest");
      entries++;
    }
  g_assert_cmpint (entries, ==, 1);
  base_fd = open (base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  g_assert_true (berth_fs_rm_rf_at (base_fd, "dest", NULL));
  rmdir (base);
  return 0;
}
