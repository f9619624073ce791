// tlsh's own numeric kernels in C, for the shapes OpenBLAS serves badly: products with few rows
// (it repacks the whole weight matrix on every call), causal attention (no fused kernel), and the
// transcendental element-wise ops (gelu_new's tanh, softmax's exp). Each entry point is compiled
// for AVX-512, AVX2+FMA and baseline x86-64 and picked at load time (target_clones / ifunc), so
// one binary runs everywhere and uses the vector units it finds. Only TLTensor imports this.
#ifndef TLKERNELS_H
#define TLKERNELS_H

#include <stddef.h>
#include <stdint.h>

/// C[m×n] = A[m×k] · B[k×n] for the output columns [col_begin, col_end), row-major with leading
/// dimensions; C's other columns are untouched. B is read in place (no packing): each 64-column
/// panel once from memory, then from cache for the remaining row tiles. Each output is a
/// k-long fused multiply-add chain in ascending k.
void tlk_gemm_nn(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b, size_t ldb,
                 float *c, size_t ldc, size_t col_begin, size_t col_end);

/// 1 when this CPU runs the kernels' AVX-512 (x86-64-v4) clones, whose 6 × 64 product tiles fit its
/// registers; 0 elsewhere (the products then work 6 × 16 strips). Decided once.
int tlk_wide_tiles(void);

/// Weights packed for tlk_gemm_packed: B[k×n] as ⌈n/64⌉ panels, panel p holding columns
/// [64p, 64p + 64) of every row contiguously ([k][64]); the last panel is zero-padded when n is
/// not a multiple of 64. Fills panels [panel_begin, panel_end) of `packed` (k·64·⌈n/64⌉ floats).
void tlk_pack_panels(size_t k, size_t n, const float *b, float *packed, size_t panel_begin, size_t panel_end);

/// C[m×n] = A[m×k] · B for B packed by tlk_pack_panels, output panels [panel_begin, panel_end)
/// (C's columns 64·panel_begin …; every panel writes 64 columns, so a padded last panel needs
/// a C with room for them). Each panel streams sequentially, so the hardware prefetcher
/// keeps up and no cache set is overloaded, whatever B's row stride was.
void tlk_gemm_packed(size_t m, size_t k, const float *a, size_t lda, const float *packed, float *c, size_t ldc,
                     size_t panel_begin, size_t panel_end);

/// 16-bit weight formats of the half-precision panels (halfgemm.c).
enum { TLK_HALF_BF16 = 1, TLK_HALF_F16 = 2 };

/// One value between Float32 and a 16-bit format: widening is exact; narrowing rounds to nearest,
/// ties to even (IEEE half overflows to infinity past 65504, NaN stays NaN).
float tlk_half_to_float(int fmt, uint16_t h);
uint16_t tlk_float_to_half(int fmt, float f);

/// n values at once, the same conversions bit for bit (vectorized): an activation cache kept in
/// 16 bits (`run ... store=f16|bf16`) narrows each activation as it is cached and widens on reads.
void tlk_narrow_to_half(int fmt, size_t n, const float *src, uint16_t *dst);
void tlk_widen_from_half(int fmt, size_t n, const uint16_t *src, float *dst);

/// tlk_pack_panels with each value rounded to `fmt`: panels [panel_begin, panel_end) of
/// k·64·⌈n/64⌉ 16-bit values.
void tlk_pack_panels_half(size_t k, size_t n, const float *b, uint16_t *packed, int fmt, size_t panel_begin,
                          size_t panel_end);

/// Rows [row_begin, row_end) of B[k×n] (row-major Float32) from its half panels.
void tlk_unpack_panels_half(size_t k, size_t n, const uint16_t *packed, int fmt, float *b, size_t row_begin,
                            size_t row_end);

/// tlk_gemm_packed for half panels: each weight widened to Float32 as read, Float32 accumulation
/// (a k-long fused multiply-add chain in ascending k per output, like tlk_gemm_packed).
void tlk_gemm_packed_half(size_t m, size_t k, const float *a, size_t lda, const uint16_t *packed, int fmt, float *c,
                          size_t ldc, size_t panel_begin, size_t panel_end);

/// The naive product the fast one is checked against: C[m×n] = A[m×k] · B[k×n], B row-major in
/// `fmt`, dense rows, one scalar Float32 sum per output.
void tlk_gemm_half_reference(size_t m, size_t k, size_t n, const float *a, const uint16_t *b, int fmt, float *c);

/// Causal softmax attention for one (sequence, head), query rows [row_begin, row_end):
/// z[i] = Σ_j softmax_j(q[i]·k[j] / scale) v[j] over keys j ≤ past + i with key_mask[j] != 0
/// (all keys when key_mask is NULL). q, k, v, z are row-major with the given strides (d_head
/// columns each). `scratch` holds at least tlk_attention_scratch_floats(t, d_head) floats.
/// A query row with no visible key gets z = 0 (TransformerLens turns that NaN row into zeros).
void tlk_attention_causal(size_t row_begin, size_t row_end, size_t t, size_t past, size_t d_head, float scale,
                          const float *q, size_t q_stride, const float *k, size_t k_stride,
                          const float *v, size_t v_stride, const int *key_mask,
                          float *z, size_t z_stride, float *scratch);
size_t tlk_attention_scratch_floats(size_t t, size_t d_head);

/// Scores for one (sequence, head): s[i][j] = q[i]·k[j] / scale for j ≤ past + i with
/// key_mask[j] != 0, else −inf; rows [row_begin, row_end), s row stride t. `scratch` holds
/// tlk_attention_scratch_floats(t, d_head) floats.
void tlk_attention_scores(size_t row_begin, size_t row_end, size_t t, size_t past, size_t d_head, float scale,
                          const float *q, size_t q_stride, const float *k, size_t k_stride,
                          const int *key_mask, float *s, float *scratch);

/// z[i] = Σ_j pattern[i][j] · v[j] for query rows [row_begin, row_end) of a [P, t] pattern (row
/// stride t), in the same query tiles as tlk_attention_causal. With `causal`, row i reads only
/// keys j ≤ past + i (the rest of its pattern row must be 0).
void tlk_attention_pattern_values(size_t row_begin, size_t row_end, size_t t, size_t past, size_t d_head, int causal,
                                  const float *pattern, const float *v, size_t v_stride, float *z, size_t z_stride);

/// Softmax of `count` floats in place; −inf entries become 0 and an all −inf row becomes zeros.
void tlk_softmax_row(float *row, size_t count);

/// GPT-2's tanh-approximated GELU in place.
void tlk_gelu_new(float *x, size_t count);

/// LayerNormPre over `rows` rows of length d: x ← (x − mean) / sqrt(var + eps); scales[r] gets
/// each row's sqrt(var + eps).
void tlk_layernorm_pre(float *x, size_t rows, size_t d, float eps, float *scales);

/// x[r][i] += bias[i] for each of `rows` rows of length n.
void tlk_add_bias(float *x, size_t rows, size_t n, const float *bias);

/// y[i] += x[i].
void tlk_add(float *y, const float *x, size_t count);

/// Asks the kernel to back the 2 MB-aligned interior of [p, p + bytes) with huge pages from the
/// first touch on (MADV_HUGEPAGE). Returns 0 on success, −1 where the system declines.
int tlk_advise_huge_pages(const void *p, size_t bytes);

/// Reduced-precision products on Intel AMX (amx.c): 0 when this CPU has AMX-BF16 and the kernel
/// granted the process the tile state, −1 otherwise (then the tlk_bf16_* products must not run).
int tlk_amx_enable(void);

/// n rounded up to the bf16 products' k step (32).
size_t tlk_bf16_padded(size_t n);

/// Packs B[k×n] (row-major) for tlk_bf16_gemm: column blocks [block_begin, block_end) of 16
/// columns, each tlk_bf16_padded(k)·16 bf16 values in hi (and in lo, when not NULL, the rounding
/// error of hi as a second bf16), zero-padded past k and n.
void tlk_bf16_pack_b(size_t k, size_t n, const float *b, uint16_t *hi, uint16_t *lo, size_t block_begin, size_t block_end);

/// Splits `rows` rows of A (k floats each, stride lda) into bf16 hi (and lo, when not NULL) rows
/// of tlk_bf16_padded(k) values, zero-padded.
void tlk_bf16_split_rows(size_t rows, size_t k, const float *a, size_t lda, uint16_t *hi, uint16_t *lo);

/// C[m×n] columns of blocks [block_begin, block_end) = A · B in bf16 with Float32 accumulation:
/// hi·hi, plus hi·lo + lo·hi when both lo arguments are given. A comes from tlk_bf16_split_rows
/// with its rows padded (zeros) to a multiple of 32; B from tlk_bf16_pack_b. Requires
/// tlk_amx_enable() == 0.
void tlk_bf16_gemm(size_t m, size_t k, size_t n, const uint16_t *a_hi, const uint16_t *a_lo, const uint16_t *b_hi,
                   const uint16_t *b_lo, float *c, size_t ldc, size_t block_begin, size_t block_end);

/// Makes glibc's malloc serve every allocation from its heap and never shrink it, so memory that
/// one run frees is reused, already mapped, by the next. Returns 0 on success, −1 where the
/// allocator is not glibc's.
int tlk_retain_freed_memory(void);

/// Returns the heap's free pages to the system (malloc_trim); a no-op elsewhere.
void tlk_release_freed_memory(void);

/// C[m×n] = A[m×k] · Bᵀ for B[n×k] row-major (C[i][j] = Σ_t A[i][t]·B[j][t]), output columns
/// [col_begin, col_end) only (gemm_nt.c). Made for few rows of A: B streams once, NT_NB rows at a
/// time, against every row of A; each output is a sum of 8-lane partial sums (not ascending t).
void tlk_gemm_nt(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b, size_t ldb,
                 float *c, size_t ldc, size_t col_begin, size_t col_end);

#endif
