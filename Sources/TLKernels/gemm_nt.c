// The transposed product with few rows, C = A · Bᵀ (B stored [n×k] row-major, as a weight matrix
// is when the backward multiplies by its transpose): OpenBLAS repacks B on every call, which costs
// more than the product at these row counts. Here each row of B is a column of C; B streams from
// memory once, row after row, while A (a few rows) stays in cache.
#include "TLKernels.h"
#include "vec.h"
/// A register tile of the transposed product: MR rows of A against NB rows of B (each a column of
/// C), 8 lanes of k at a time, then one horizontal sum per output.
typedef float tlk_v8 __attribute__((vector_size(32)));
enum { NT_MR = 2, NT_NB = 4 };

TLK_INLINE void nt_tile(const int MR, const int NB, size_t k, const float *a, size_t lda, const float *b, size_t ldb,
                        float *c, size_t ldc) {
    tlk_v8 acc[NT_MR][NT_NB];
    _Pragma("clang loop unroll(full)") for (int r = 0; r < MR; r++)
        _Pragma("clang loop unroll(full)") for (int j = 0; j < NB; j++) acc[r][j] = (tlk_v8){0};
    size_t t = 0;
    for (; t + 8 <= k; t += 8) {
        tlk_v8 bv[NT_NB];
        _Pragma("clang loop unroll(full)") for (int j = 0; j < NB; j++) memcpy(&bv[j], b + j * ldb + t, sizeof(tlk_v8));
        _Pragma("clang loop unroll(full)") for (int r = 0; r < MR; r++) {
            tlk_v8 av;
            memcpy(&av, a + r * lda + t, sizeof av);
            _Pragma("clang loop unroll(full)") for (int j = 0; j < NB; j++) acc[r][j] += av * bv[j];
        }
    }
    _Pragma("clang loop unroll(full)") for (int r = 0; r < MR; r++)
        _Pragma("clang loop unroll(full)") for (int j = 0; j < NB; j++) {
            float s = 0;
            for (int i = 0; i < 8; i++) s += acc[r][j][i];
            for (size_t u = t; u < k; u++) s += a[r * lda + u] * b[j * ldb + u];
            c[r * ldc + j] = s;
        }
}

TLK_INLINE void nt_rows(const int NB, size_t m, size_t k, const float *a, size_t lda, const float *b, size_t ldb,
                        float *c, size_t ldc) {
    size_t r = 0;
    for (; r + NT_MR <= m; r += NT_MR) nt_tile(NT_MR, NB, k, a + r * lda, lda, b, ldb, c + r * ldc, ldc);
    for (; r < m; r++) nt_tile(1, NB, k, a + r * lda, lda, b, ldb, c + r * ldc, ldc);
}

TLK_CLONES
void tlk_gemm_nt(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b, size_t ldb,
                 float *c, size_t ldc, size_t col_begin, size_t col_end) {
    if (col_end > n) col_end = n;
    size_t j = col_begin;
    // NT_NB rows of B at a time: they stay in L1/L2 while every row tile of A passes over them,
    // so B streams from memory once, row after row.
    for (; j + NT_NB <= col_end; j += NT_NB) nt_rows(NT_NB, m, k, a, lda, b + j * ldb, ldb, c + j, ldc);
    for (; j < col_end; j++) nt_rows(1, m, k, a, lda, b + j * ldb, ldb, c + j, ldc);
}
