// Few-row products with packed weights on CPUs without AVX-512 (3–12 rows: short prompts, patched
// runs, the last positions of a sweep), shared by the Float32 panels (gemm.c) and the 16-bit ones
// (halfgemm.c, which widens each chunk first).
//
// There the weights stream from memory once and the arithmetic is small, so what matters is that
// the two overlap. Worked strip by strip over the whole k, a 64-column panel's first 16-column
// strip reads every fourth line and finishes long before the panel has arrived; the other strips
// then compute from cache while the memory bus idles (6–11-row products ran at 7–9 GB/s against
// 19 GB/s for one row). Here each panel is worked FEW_KC rows of k at a time — all four strips and
// both row blocks on that chunk before moving on — with the accumulators parked in a small L1
// buffer between chunks, and each strip prefetching its own lines FEW_PREFETCH_ROWS rows ahead
// (into the next panel at the end, which lies right after). The fetches are spread evenly over the
// arithmetic and the demand stream moves steadily forward. Single thread, GPT-2 XL's layer shapes
// from memory: Float32 11 rows 36–40 → 49–51 GFLOP/s, 6 rows 27–29 → 31–39; bf16 11 rows 34 → 48,
// 6 rows 34 → 45. 16 rows gained nothing, so larger blocks keep the strips. Every output is the
// same k-ascending FMA chain as the strips' and the 16-bit tiles', so results are bit-identical.
#ifndef TLK_FEWROWS_H
#define TLK_FEWROWS_H

#include "vec.h"

enum { FEW_ROWS_MAX = 12, FEW_KC = 8, FEW_PREFETCH_ROWS = 64, FEW_MR = 6 };

/// acc[r] (16 floats each) += Σ_i a[r·lda + i] · strip[i·64 ..< i·64 + 16] for i < n, for MR rows,
/// optionally prefetching each strip row FEW_PREFETCH_ROWS rows ahead.
TLK_INLINE void few_rows_strip(const int MR, int prefetch, size_t n, const float *a, size_t lda, const float *strip,
                               float *acc) {
    v16 t[FEW_MR];
    _Pragma("clang loop unroll(full)") for (int r = 0; r < MR; r++) t[r] = load16(acc + 16 * r);
    for (size_t i = 0; i < n; i++) {
        const float *brow = strip + i * 64;
        if (prefetch) __builtin_prefetch(brow + FEW_PREFETCH_ROWS * 64);
        v16 bv = load16(brow);
        _Pragma("clang loop unroll(full)") for (int r = 0; r < MR; r++) t[r] += splat16(a[r * lda + i]) * bv;
    }
    _Pragma("clang loop unroll(full)") for (int r = 0; r < MR; r++) store16(acc + 16 * r, t[r]);
}

/// One chunk of n ≤ FEW_KC rows of k: `chunk` holds them as 64-float rows and `a` points at their
/// column of A. All four strips, row blocks of up to FEW_MR rows; with `prefetch`, each strip's
/// first row block prefetches its lines (the second finds them in L1).
TLK_INLINE void few_rows_chunk(size_t m, size_t n, const float *a, size_t lda, const float *chunk, int prefetch,
                               float acc[4][FEW_ROWS_MAX][16]) {
    for (int s = 0; s < 4; s++)
        for (size_t r = 0; r < m; r += FEW_MR) {
            size_t rows = m - r < FEW_MR ? m - r : FEW_MR;
            int pf = prefetch && r == 0;
            const float *ar = a + r * lda, *strip = chunk + 16 * s;
            float *at = &acc[s][r][0];
            switch (rows) {
            case 6: few_rows_strip(6, pf, n, ar, lda, strip, at); break;
            case 5: few_rows_strip(5, pf, n, ar, lda, strip, at); break;
            case 4: few_rows_strip(4, pf, n, ar, lda, strip, at); break;
            case 3: few_rows_strip(3, pf, n, ar, lda, strip, at); break;
            case 2: few_rows_strip(2, pf, n, ar, lda, strip, at); break;
            default: few_rows_strip(1, pf, n, ar, lda, strip, at); break;
            }
        }
}

/// C[r][0 ..< 64] = the accumulated row r, for r < m.
TLK_INLINE void few_rows_store(size_t m, float acc[4][FEW_ROWS_MAX][16], float *c, size_t ldc) {
    for (size_t r = 0; r < m; r++)
        for (int s = 0; s < 4; s++) memcpy(c + r * ldc + 16 * s, &acc[s][r][0], 16 * sizeof(float));
}

#endif
