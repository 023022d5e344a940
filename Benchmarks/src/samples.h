/* Latency samples in microseconds, and their percentiles: zbxload keeps its exchanges' latencies in
 * one, zbxsrv riemann the latency to Riemann. One definition, included by both programs. */
#ifndef ZBX_SAMPLES_H
#define ZBX_SAMPLES_H

#include <stdint.h>
#include <stdlib.h>

/* Grows as needed up to `max` samples (memory stays bounded: 4 bytes each); later ones are not kept. */
struct samples { uint32_t *v; size_t n, cap, max; };

static void samples_add(struct samples *s, double us) {
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 1 << 16;
        if (nc > s->max) return;
        uint32_t *p = realloc(s->v, nc * sizeof *p);
        if (!p) return;
        s->v = p; s->cap = nc;
    }
    s->v[s->n++] = us < 0 ? 0 : us > 4e9 ? 4000000000u : (uint32_t)us;
}

static int samples_cmp(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}
static void samples_sort(struct samples *s) { qsort(s->v, s->n, sizeof *s->v, samples_cmp); }

/* The p-th percentile of sorted samples (nearest rank), 0 when there are none. */
static double samples_pct(const struct samples *s, double p) {
    return s->n ? s->v[(size_t)(p / 100.0 * (double)(s->n - 1) + 0.5)] : 0;
}
static double samples_max(const struct samples *s) { return s->n ? s->v[s->n - 1] : 0; }

#endif
