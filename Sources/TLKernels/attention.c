// Causal attention for one (sequence, head) without the full [P, T] pattern: query rows go in
// tiles of QUERY_TILE; each tile multiplies only the keys its last row can see, so the masked
// upper triangle is (almost) never computed, and its scores stay in a cache-sized scratch block.
// Keys are transposed once per call so both products are plain row-major GEMMs (tlk_gemm_nn).
#include <math.h>
#include "TLKernels.h"
#include "vec.h"

enum { QUERY_TILE = 48 };

/// Row stride of the transposed keys and of the score block: t plus one cache line, so that rows
/// of a power-of-two length (t = 1024 is 4 KB) do not all land in the same cache sets.
static size_t padded(size_t t) { return t + 16; }

size_t tlk_attention_scratch_floats(size_t t, size_t d_head) { return (d_head + QUERY_TILE) * padded(t); }

/// kt[d][j] = k[j][d] for keys j < count (kt's row stride is ld).
TLK_INLINE void transpose_keys(size_t count, size_t ld, size_t d_head, const float *k, size_t k_stride, float *kt) {
    for (size_t j = 0; j < count; j++)
        for (size_t d = 0; d < d_head; d++) kt[d * ld + j] = k[j * k_stride + d];
}

/// Scores of query rows [i0, i1) against keys [0, keys), scaled and masked, into s (row stride
/// ld_s): entries a row may not see become −inf.
TLK_INLINE void scores_tile(size_t i0, size_t i1, size_t keys, size_t past, size_t d_head, float scale,
                        const float *q, size_t q_stride, const float *kt, size_t ld_kt, const int *key_mask,
                        float *s, size_t ld_s) {
    tlk_gemm_nn(i1 - i0, keys, d_head, q + i0 * q_stride, q_stride, kt, ld_kt, s, ld_s, 0, keys);
    for (size_t i = i0; i < i1; i++) {
        float *row = s + (i - i0) * ld_s;
        size_t valid = past + i + 1 < keys ? past + i + 1 : keys;
        for (size_t j = 0; j < valid; j++) row[j] = row[j] / scale;
        if (key_mask)
            for (size_t j = 0; j < valid; j++)
                if (key_mask[j] == 0) row[j] = -INFINITY;
        for (size_t j = valid; j < keys; j++) row[j] = -INFINITY;
    }
}

static size_t visible_keys(size_t i1, size_t t, size_t past) { return past + i1 < t ? past + i1 : t; }

TLK_CLONES
void tlk_attention_scores(size_t row_begin, size_t row_end, size_t t, size_t past, size_t d_head, float scale,
                          const float *q, size_t q_stride, const float *k, size_t k_stride,
                          const int *key_mask, float *s, float *scratch) {
    if (row_begin >= row_end) return;
    float *kt = scratch;
    transpose_keys(visible_keys(row_end, t, past), padded(t), d_head, k, k_stride, kt);
    for (size_t i0 = row_begin; i0 < row_end; i0 += QUERY_TILE) {
        size_t i1 = i0 + QUERY_TILE < row_end ? i0 + QUERY_TILE : row_end;
        size_t keys = visible_keys(i1, t, past);
        scores_tile(i0, i1, keys, past, d_head, scale, q, q_stride, kt, padded(t), key_mask, s + i0 * t, t);
        for (size_t i = i0; i < i1; i++)
            for (size_t j = keys; j < t; j++) s[i * t + j] = -INFINITY;
    }
}

TLK_CLONES
void tlk_attention_causal(size_t row_begin, size_t row_end, size_t t, size_t past, size_t d_head, float scale,
                          const float *q, size_t q_stride, const float *k, size_t k_stride,
                          const float *v, size_t v_stride, const int *key_mask,
                          float *z, size_t z_stride, float *scratch) {
    if (row_begin >= row_end) return;
    const size_t ld = padded(t);
    float *kt = scratch, *s = scratch + d_head * ld;
    transpose_keys(visible_keys(row_end, t, past), ld, d_head, k, k_stride, kt);
    for (size_t i0 = row_begin; i0 < row_end; i0 += QUERY_TILE) {
        size_t i1 = i0 + QUERY_TILE < row_end ? i0 + QUERY_TILE : row_end;
        size_t keys = visible_keys(i1, t, past);
        scores_tile(i0, i1, keys, past, d_head, scale, q, q_stride, kt, ld, key_mask, s, ld);
        for (size_t i = i0; i < i1; i++) tlk_softmax_row(s + (i - i0) * ld, keys);
        tlk_gemm_nn(i1 - i0, d_head, keys, s, ld, v, v_stride, z + i0 * z_stride, z_stride, 0, d_head);
    }
}

TLK_CLONES
void tlk_attention_pattern_values(size_t row_begin, size_t row_end, size_t t, size_t past, size_t d_head, int causal,
                                  const float *pattern, const float *v, size_t v_stride, float *z, size_t z_stride) {
    for (size_t i0 = row_begin; i0 < row_end; i0 += QUERY_TILE) {
        size_t i1 = i0 + QUERY_TILE < row_end ? i0 + QUERY_TILE : row_end;
        size_t keys = causal ? visible_keys(i1, t, past) : t;
        tlk_gemm_nn(i1 - i0, d_head, keys, pattern + i0 * t, t, v, v_stride, z + i0 * z_stride, z_stride, 0, d_head);
    }
}
