// Unpacked matrix product for row counts where OpenBLAS's packing dominates (see TLKernels.h).
// The register tile is MR rows × NV·16 columns of C, accumulated over the whole k loop; B's rows
// are read straight from the caller's matrix, 64 columns (4 cache lines) at a time, with a
// software prefetch a few rows ahead because consecutive B rows are a full row stride apart.
#include "TLKernels.h"
#include "vec.h"
#include "fewrows.h"

enum { MR_MAX = 6, PREFETCH_ROWS = 16, NV_MAX = 16 };

/// Software prefetch of a tile: none; B's rows PREFETCH_ROWS ahead (a strided B coming from
/// memory); or the same rows of the next panel, `next` floats on (the tile works from cache, so
/// the memory bus would idle — this starts the next panel's traffic meanwhile); or a packed panel's
/// whole 64-float rows ahead, for the first of the four 16-column strips that work a panel without
/// AVX-512 (the other three then read it from cache: left to the hardware, the strips' 256-byte
/// stride through memory ran 6-row products at a third of the memory rate).
enum { PF_NONE, PF_AHEAD, PF_NEXT_PANEL, PF_PANEL_AHEAD };

TLK_INLINE void tile_pf(const int MR, const int NV, const int PF, size_t next, size_t k, const float *a, size_t lda,
                        const float *b, size_t ldb, float *c, size_t ldc) {
    v16 acc[MR_MAX][NV_MAX];
    // Every loop over r and v is unrolled so the accumulators live in registers.
    _Pragma("clang loop unroll(full)") for (int r = 0; r < MR; r++)
        _Pragma("clang loop unroll(full)") for (int v = 0; v < NV; v++) acc[r][v] = splat16(0);
    for (size_t i = 0; i < k; i++) {
        const float *brow = b + i * ldb;
        if (PF == PF_AHEAD && i + PREFETCH_ROWS < k)
            _Pragma("clang loop unroll(full)") for (int v = 0; v < NV; v++) __builtin_prefetch(brow + PREFETCH_ROWS * ldb + 16 * v);
        if (PF == PF_NEXT_PANEL)
            _Pragma("clang loop unroll(full)") for (int v = 0; v < NV; v++) __builtin_prefetch(brow + next + 16 * v, 0, 2);
        if (PF == PF_PANEL_AHEAD && i + PREFETCH_ROWS < k)
            _Pragma("clang loop unroll(full)") for (int v = 0; v < 4; v++) __builtin_prefetch(brow + PREFETCH_ROWS * ldb + 16 * v);
        v16 bv[NV_MAX];
        _Pragma("clang loop unroll(full)") for (int v = 0; v < NV; v++) bv[v] = load16(brow + 16 * v);
        _Pragma("clang loop unroll(full)") for (int r = 0; r < MR; r++) {
            float as = a[r * lda + i];
            v16 av = {as, as, as, as, as, as, as, as, as, as, as, as, as, as, as, as};
            _Pragma("clang loop unroll(full)") for (int v = 0; v < NV; v++) acc[r][v] += av * bv[v];
        }
    }
    _Pragma("clang loop unroll(full)") for (int r = 0; r < MR; r++)
        _Pragma("clang loop unroll(full)") for (int v = 0; v < NV; v++) store16(c + r * ldc + 16 * v, acc[r][v]);
}

#define tile(MR, NV, ...) tile_pf(MR, NV, PF_AHEAD, 0, __VA_ARGS__)

/// One row block (≤ MR_MAX rows) against NV·16 columns starting at B's and C's column 0, with
/// prefetch mode PF (`next` for PF_NEXT_PANEL).
TLK_INLINE void row_block(const int NV, const int PF, size_t next, size_t rows, size_t k, const float *a, size_t lda,
                          const float *b, size_t ldb, float *c, size_t ldc) {
    switch (rows) {
    case 6: tile_pf(6, NV, PF, next, k, a, lda, b, ldb, c, ldc); break;
    case 5: tile_pf(5, NV, PF, next, k, a, lda, b, ldb, c, ldc); break;
    case 4: tile_pf(4, NV, PF, next, k, a, lda, b, ldb, c, ldc); break;
    case 3: tile_pf(3, NV, PF, next, k, a, lda, b, ldb, c, ldc); break;
    case 2: tile_pf(2, NV, PF, next, k, a, lda, b, ldb, c, ldc); break;
    default: tile_pf(1, NV, PF, next, k, a, lda, b, ldb, c, ldc); break;
    }
}

/// Whether C's tiles may be 6 rows × 64 columns: 24 accumulators of 16 floats fit the 32 zmm
/// registers of AVX-512, but would take 48 of AVX2's 16 ymm registers and spill to the stack (on an
/// AVX2-only AMD EPYC that ran the packed product at half OpenBLAS's rate). Without AVX-512 a
/// 64-column panel is worked as four 6 × 16 strips instead (12 ymm accumulators, the classic AVX2
/// micro-tile). Every output still sums over k in the same order, so results are bit-identical.
int tlk_wide_tiles(void) {
    static int known = -1;
    int wide = __atomic_load_n(&known, __ATOMIC_RELAXED);
    if (wide < 0) {
        __builtin_cpu_init();
        // The x86-64-v4 clone's features, so "wide" means that clone is the one running.
        wide = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq")
               && __builtin_cpu_supports("avx512vl");
        __atomic_store_n(&known, wide, __ATOMIC_RELAXED);
    }
    return wide;
}

/// One row block (≤ MR_MAX rows) against 64 columns: one wide tile (also without AVX-512 for one
/// or two rows: a single row's 8 ymm accumulators fit, and two rows' 16 spill a little but read
/// each panel row's four lines in order, which ran 2-row products 1.3–1.7× faster than strips),
/// or four 16-column strips (prefetch mode PF applies to each strip's own columns; a packed
/// panel's first strip prefetches whole rows for all four).
TLK_INLINE void panel_block(const int wide, const int PF, size_t next, size_t rows, size_t k, const float *a, size_t lda,
                            const float *b, size_t ldb, float *c, size_t ldc) {
    if (wide || rows <= 2) {
        row_block(4, PF, next, rows, k, a, lda, b, ldb, c, ldc);
        return;
    }
    if (PF == PF_NONE) {
        row_block(1, PF_PANEL_AHEAD, 0, rows, k, a, lda, b, ldb, c, ldc);
        for (int s = 1; s < 4; s++) row_block(1, PF_NONE, 0, rows, k, a, lda, b + 16 * s, ldb, c + 16 * s, ldc);
        return;
    }
    for (int s = 0; s < 4; s++) row_block(1, PF, next, rows, k, a, lda, b + 16 * s, ldb, c + 16 * s, ldc);
}

TLK_CLONES
void tlk_gemm_nn(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b, size_t ldb,
                 float *c, size_t ldc, size_t col_begin, size_t col_end) {
    if (col_end > n) col_end = n;
    size_t j = col_begin;
    const int wide = tlk_wide_tiles();
    // One or two rows (generation's single token): 256 or 128 columns per step, so each B row
    // yields 1 KB / 512 B of consecutive lines and more of them are in flight at once. Those 16
    // accumulators of 16 floats need AVX-512's registers; without it the panels below take them.
    if (m == 1 && wide)
        for (; j + 256 <= col_end; j += 256) tile(1, 16, k, a, lda, b + j, ldb, c + j, ldc);
    if (m == 2 && wide)
        for (; j + 128 <= col_end; j += 128) tile(2, 8, k, a, lda, b + j, ldb, c + j, ldc);
    // Full 64-column panels: every row block reuses the panel while it is in cache; the first
    // block fetches it from memory, the last prefetches the next panel.
    for (; j + 64 <= col_end; j += 64)
        for (size_t r = 0; r < m; r += MR_MAX) {
            size_t rows = m - r < MR_MAX ? m - r : MR_MAX;
            const float *ar = a + r * lda, *bp = b + j;
            float *cr = c + r * ldc + j;
            if (r > 0 && r + MR_MAX >= m && j + 128 <= col_end)
                panel_block(wide, PF_NEXT_PANEL, 64, rows, k, ar, lda, bp, ldb, cr, ldc);
            else
                panel_block(wide, PF_AHEAD, 0, rows, k, ar, lda, bp, ldb, cr, ldc);
        }
    for (; j + 16 <= col_end; j += 16)
        for (size_t r = 0; r < m; r += MR_MAX)
            row_block(1, PF_AHEAD, 0, m - r < MR_MAX ? m - r : MR_MAX, k, a + r * lda, lda, b + j, ldb, c + r * ldc + j, ldc);
    // The last few columns (n mod 16), one dot product each.
    for (; j < col_end; j++)
        for (size_t r = 0; r < m; r++) {
            float s = 0;
            for (size_t i = 0; i < k; i++) s += a[r * lda + i] * b[i * ldb + j];
            c[r * ldc + j] = s;
        }
}

/// Rows per block in the packed product: a block of A (≤ 96 rows × k) stays in L2 while every
/// panel of the worker's range streams past it once.
enum { PACKED_ROW_BLOCK = 96 };

/// Few-row packed products without AVX-512 (3–12 rows): see fewrows.h.
TLK_INLINE void few_rows_panel(size_t m, size_t k, const float *a, size_t lda, const float *panel, float *c, size_t ldc) {
    float acc[4][FEW_ROWS_MAX][16];
    memset(acc, 0, sizeof acc);
    for (size_t i0 = 0; i0 < k; i0 += FEW_KC) {
        size_t n = i0 + FEW_KC < k ? FEW_KC : k - i0;
        // The panel itself is the chunk (64 floats a row); its strips prefetch their own lines.
        few_rows_chunk(m, n, a + i0, lda, panel + i0 * 64, 1, acc);
    }
    few_rows_store(m, acc, c, ldc);
}

TLK_CLONES
void tlk_gemm_packed(size_t m, size_t k, const float *a, size_t lda, const float *packed, float *c, size_t ldc,
                     size_t panel_begin, size_t panel_end) {
    const int wide = tlk_wide_tiles();
    if (!wide && m >= 3 && m <= FEW_ROWS_MAX) {
        for (size_t p = panel_begin; p < panel_end; p++) few_rows_panel(m, k, a, lda, packed + p * k * 64, c + p * 64, ldc);
        return;
    }
    for (size_t r0 = 0; r0 < m; r0 += PACKED_ROW_BLOCK) {
        size_t r1 = r0 + PACKED_ROW_BLOCK < m ? r0 + PACKED_ROW_BLOCK : m;
        for (size_t p = panel_begin; p < panel_end; p++) {
            const float *panel = packed + p * k * 64;
            for (size_t r = r0; r < r1; r += MR_MAX) {
                size_t rows = r1 - r < MR_MAX ? r1 - r : MR_MAX;
                // Panels stream sequentially (the hardware prefetcher follows); the last row
                // tile of a panel works from cache and starts fetching the next panel.
                if (r > r0 && r + MR_MAX >= r1 && p + 1 < panel_end)
                    panel_block(wide, PF_NEXT_PANEL, k * 64, rows, k, a + r * lda, lda, panel, 64, c + r * ldc + p * 64, ldc);
                else
                    panel_block(wide, PF_NONE, 0, rows, k, a + r * lda, lda, panel, 64, c + r * ldc + p * 64, ldc);
            }
        }
    }
}

TLK_CLONES
void tlk_pack_panels(size_t k, size_t n, const float *b, float *packed, size_t panel_begin, size_t panel_end) {
    for (size_t p = panel_begin; p < panel_end; p++) {
        size_t width = n - p * 64 < 64 ? n - p * 64 : 64;
        for (size_t i = 0; i < k; i++) {
            float *dst = packed + (p * k + i) * 64;
            memcpy(dst, b + i * n + p * 64, width * sizeof(float));
            if (width < 64) memset(dst + width, 0, (64 - width) * sizeof(float));
        }
    }
}
