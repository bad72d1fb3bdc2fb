/*
 * table — the one table printer of the programs (`bounceguard list`,
 * `senders`, `diagnose`, ..., `bounceguard-dsn parse`): aligned columns of
 * cells made printable, whatever bytes a bounce or the store held.
 *
 * Column widths come from the first `sample` rows: those are buffered, then
 * the header and rows are printed and every later row goes out at once with
 * the same widths (a wider cell pushes its row, no more), so a million rows
 * print with flat memory; sample 0 buffers everything.  Cells go through
 * bg_sanitize_cell (util.h): controls, C1, bidi controls and bytes that are
 * not UTF-8 are escaped, and a cell cut at its width ends in "..."; a NULL
 * or empty cell shows as "-".  A row may carry a terminal colour: the codes
 * are the caller's (empty when colour is off).
 *
 * The table writes only to the stream its caller gives it.
 */
#ifndef BOUNCEGUARD_TABLE_H
#define BOUNCEGUARD_TABLE_H

#include <stddef.h>
#include <stdio.h>

typedef struct bg_table bg_table;

/* Cells are cut at BG_TABLE_CELL_MAX bytes, the last column at last_max. */
#define BG_TABLE_CELL_MAX 60

/*
 * A table of ncols columns (at most 32) with these headings (kept by
 * reference: they must outlive the table), written to out.  head_on and
 * reset are the terminal codes around the header and after a coloured row
 * ("" or NULL: none).  Never fails (allocation failure is fatal, util.h).
 */
bg_table *bg_table_new(FILE *out, int ncols, const char *const *head, size_t sample,
                       size_t last_max, const char *head_on, const char *reset);

/* One row of ncols cells; on is the row's colour code ("" or NULL: none). */
void bg_table_row(bg_table *t, const char *on, const char *const *cells);

/* Print what is buffered and free the table (NULL is fine); returns NULL. */
bg_table *bg_table_end(bg_table *t);

#endif
