/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdio.h>

#include "ctl.h"

struct _CtlTable
{
  guint n_columns;
  GPtrArray *rows; /* of GStrv, the first one the headers */
};

CtlTable *
ctl_table_new (const char *const *headers)
{
  CtlTable *table = g_new0 (CtlTable, 1);

  table->n_columns = g_strv_length ((char **)headers);
  table->rows = g_ptr_array_new_with_free_func ((GDestroyNotify)g_strfreev);
  g_ptr_array_add (table->rows, g_strdupv ((char **)headers));
  return table;
}

void
ctl_table_add_row (CtlTable *table, const char *const *cells)
{
  g_return_if_fail (g_strv_length ((char **)cells) == table->n_columns);
  g_ptr_array_add (table->rows, g_strdupv ((char **)cells));
}

void
ctl_table_print (CtlTable *table)
{
  g_autofree glong *widths = g_new0 (glong, table->n_columns);

  for (guint r = 0; r < table->rows->len; r++)
    {
      char **cells = g_ptr_array_index (table->rows, r);

      for (guint c = 0; c < table->n_columns; c++)
        widths[c] = MAX (widths[c], g_utf8_strlen (cells[c], -1));
    }

  for (guint r = 0; r < table->rows->len; r++)
    {
      char **cells = g_ptr_array_index (table->rows, r);
      g_autoptr (GString) line = g_string_new (NULL);

      for (guint c = 0; c < table->n_columns; c++)
        {
          g_string_append (line, cells[c]);
          /* Three spaces between columns, no trailing blanks. */
          if (c + 1 < table->n_columns)
            for (glong pad = g_utf8_strlen (cells[c], -1); pad < widths[c] + 3; pad++)
              g_string_append_c (line, ' ');
        }
      g_print ("%s\n", line->str);
    }
}

void
ctl_table_free (CtlTable *table)
{
  if (table == NULL)
    return;
  g_ptr_array_unref (table->rows);
  g_free (table);
}

void
ctl_print_json (JsonNode *node)
{
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autofree char *text = NULL;

  json_generator_set_pretty (generator, TRUE);
  json_generator_set_indent (generator, 2);
  json_generator_set_root (generator, node);
  text = json_generator_to_data (generator, NULL);
  g_print ("%s\n", text);
}

char *
ctl_format_size (guint64 bytes)
{
  static const char *const units[] = { "B", "kB", "MB", "GB", "TB", "PB" };
  double value = bytes;
  guint unit = 0;

  while (value >= 1000 && unit + 1 < G_N_ELEMENTS (units))
    {
      value /= 1000;
      unit++;
    }
  if (unit == 0)
    return g_strdup_printf ("%" G_GUINT64_FORMAT " B", bytes);
  return g_strdup_printf (value < 10    ? "%.2f %s"
                          : value < 100 ? "%.1f %s"
                                        : "%.0f %s",
                          value, units[unit]);
}
