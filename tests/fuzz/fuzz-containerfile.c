/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "berth-containerfile.h"
#include "fuzz.h"

static void
apply_stage (BerthBuildStage *stage, GHashTable *variables)
{
  g_autoptr (JsonObject) config = json_object_new ();

  for (guint i = 0; i < stage->instructions->len; i++)
    {
      BerthInstruction *ins = g_ptr_array_index (stage->instructions, i);
      g_autoptr (BerthInstruction) expanded = berth_containerfile_expand (ins, variables, NULL);

      if (expanded == NULL)
        continue;
      berth_containerfile_apply (config, expanded, NULL);
      berth_containerfile_apply (config, ins, NULL);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (BerthContainerfile) file = berth_containerfile_parse ((const char *)data, size, NULL);
  g_autoptr (GHashTable) variables = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree char *text = g_strndup ((const char *)data, size);
  g_autoptr (BerthInstruction) one = NULL;
  char *newline;

  g_hash_table_insert (variables, "A", "alpha");
  g_hash_table_insert (variables, "EMPTY", "");
  if (file)
    {
      /* Every stage found by its index; every instruction expands or
       * fails cleanly, and applies or is refused cleanly. */
      for (guint s = 0; s < file->stages->len; s++)
        {
          g_autofree char *index = g_strdup_printf ("%u", s);

          g_assert_nonnull (berth_containerfile_find_stage (file, index));
          apply_stage (g_ptr_array_index (file->stages, s), variables);
        }
    }
  /* The first line alone, as `commit --change` would pass it. */
  newline = strchr (text, '\n');
  if (newline)
    *newline = '\0';
  one = berth_containerfile_parse_instruction (text, NULL);
  if (one)
    {
      g_autoptr (BerthInstruction) copy = berth_instruction_copy (one);
      g_autoptr (JsonObject) config = json_object_new ();

      g_assert_cmpint (copy->kind, ==, one->kind);
      berth_containerfile_apply (config, copy, NULL);
    }
  return 0;
}
