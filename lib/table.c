/*
 * table.c — see include/bounceguard/table.h.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "bounceguard/table.h"
#include "bounceguard/util.h"

#define MAX_COLS 32

struct bg_table {
    FILE *out;
    int ncols;
    const char *const *head;
    size_t sample;
    size_t last_max;
    const char *head_on, *reset;
    size_t *width;
    char **rows;        /* buffered cells, ncols per row */
    const char **color; /* per buffered row */
    size_t nrows, cap;
    bool streaming;
};

bg_table *
bg_table_new(FILE *out, int ncols, const char *const *head, size_t sample,
             size_t last_max, const char *head_on, const char *reset)
{
    bg_table *t = bg_xcalloc(1, sizeof(*t));

    t->out = out;
    t->ncols = ncols < MAX_COLS ? ncols : MAX_COLS;
    t->head = head;
    t->sample = sample;
    t->last_max = last_max;
    t->head_on = head_on ? head_on : "";
    t->reset = reset ? reset : "";
    t->width = bg_xcalloc((size_t)t->ncols, sizeof(*t->width));
    for (int c = 0; c < t->ncols; c++)
        t->width[c] = strlen(head[c]);
    return t;
}

/* A printable copy of s cut at max bytes (with "..."); "-" for NULL/"". */
static char *
cell_dup(const char *s, size_t max)
{
    char *d;

    if (s == NULL || *s == '\0')
        return bg_xstrdup("-");
    d = bg_xmalloc(max + 1);
    return bg_sanitize_cell(d, max + 1, s, max);
}

static void
print_row(bg_table *t, const char *on, const char *const *cells)
{
    fputs(on, t->out);
    for (int c = 0; c < t->ncols; c++) {
        if (c < t->ncols - 1)
            fprintf(t->out, "%-*s  ", (int)t->width[c], cells[c]);
        else
            fputs(cells[c], t->out);
    }
    fprintf(t->out, "%s\n", *on ? t->reset : "");
}

static void
flush_buffered(bg_table *t)
{
    print_row(t, t->head_on, t->head);
    for (size_t r = 0; r < t->nrows; r++) {
        char **cells = &t->rows[r * (size_t)t->ncols];
        print_row(t, t->color[r], (const char *const *)cells);
        for (int c = 0; c < t->ncols; c++)
            free(cells[c]);
    }
    t->nrows = 0;
}

void
bg_table_row(bg_table *t, const char *on, const char *const *cells)
{
    char *copy[MAX_COLS] = {NULL};
    int n = t->ncols;

    on = on ? on : "";
    for (int c = 0; c < n; c++) {
        copy[c] = cell_dup(cells[c], c == n - 1 ? t->last_max : BG_TABLE_CELL_MAX);
        if (!t->streaming && strlen(copy[c]) > t->width[c])
            t->width[c] = strlen(copy[c]);
    }
    if (t->streaming) {
        print_row(t, on, (const char *const *)copy);
        for (int c = 0; c < n; c++)
            free(copy[c]);
        return;
    }
    if (t->nrows == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        t->rows = bg_xrealloc(t->rows, t->cap * (size_t)n * sizeof(*t->rows));
        t->color = bg_xrealloc(t->color, t->cap * sizeof(*t->color));
    }
    memcpy(&t->rows[t->nrows * (size_t)n], copy, (size_t)n * sizeof(*copy));
    t->color[t->nrows++] = on;
    if (t->sample > 0 && t->nrows >= t->sample) {
        flush_buffered(t);
        t->streaming = true;
    }
}

bg_table *
bg_table_end(bg_table *t)
{
    if (t == NULL)
        return NULL;
    if (!t->streaming && t->nrows > 0)
        flush_buffered(t);
    free(t->rows);
    free(t->color);
    free(t->width);
    free(t);
    return NULL;
}
