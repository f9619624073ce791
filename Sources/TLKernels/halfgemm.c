// Products with weights stored in 16 bits (`model NAME dtype=bf16|f16`): the weight panels of
// tlk_gemm_packed (64 columns, [k][64]) hold bfloat16 or IEEE half values, widened to Float32 as
// they are read, and every product accumulates in Float32. A weight-streaming product (few rows:
// short prompts, generation, patching batches) moves half the bytes of the Float32 panels. The
// widening is integer arithmetic on vector lanes, so every clone (AVX-512, AVX2, baseline) runs it
// without needing the F16C instructions.
#include "TLKernels.h"
#include "vec.h"
#include "fewrows.h"
#include <stdlib.h>

typedef uint32_t v16u __attribute__((vector_size(64)));
typedef uint16_t v16h __attribute__((vector_size(32)));

enum { HMR = 6, WIDEN_ROWS = 12 };

/// 16 half values (format fmt) at p → 16 floats.
TLK_INLINE void widen16(int fmt, const uint16_t *p, v16 *out) {
    v16h h;
    memcpy(&h, p, sizeof h);
    v16u u = __builtin_convertvector(h, v16u);
    if (fmt == TLK_HALF_BF16) {
        *out = (v16)(u << 16);
        return;
    }
    // IEEE half: move exponent and mantissa into place and rescale by 2^112 (which also handles
    // subnormals exactly); infinities and NaNs get the all-ones exponent.
    v16u em = u & 0x7fff, sign = (u & 0x8000) << 16;
    v16 f = (v16)(em << 13) * 0x1p112f;
    v16u special = (v16u)(em >= 0x7c00);
    v16u bits = ((v16u)f & ~special) | (((em << 13) | 0x7f800000u) & special);
    *out = (v16)(bits | sign);
}

float tlk_half_to_float(int fmt, uint16_t h) {
    uint32_t u = h;
    if (fmt == TLK_HALF_BF16) { u <<= 16; float f; memcpy(&f, &u, 4); return f; }
    uint32_t sign = (u & 0x8000) << 16, em = u & 0x7fff, bits;
    if (em >= 0x7c00) bits = (em << 13) | 0x7f800000u;
    else { float f; uint32_t t = em << 13; memcpy(&f, &t, 4); f *= 0x1p112f; memcpy(&bits, &f, 4); }
    bits |= sign;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t tlk_float_to_half(int fmt, float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    if (fmt == TLK_HALF_BF16) {
        if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40);  // quiet NaN
        x += 0x7fffu + ((x >> 16) & 1);  // round to nearest, ties to even
        return (uint16_t)(x >> 16);
    }
    uint32_t sign = (x >> 16) & 0x8000, ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return (uint16_t)(sign | 0x7e00);  // NaN
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00);  // rounds to ≥ 65520: infinity
    if (ax < 0x38800000u) {  // below 2^-14: a subnormal half (or zero), rounded to nearest even
        if (ax < 0x33000000u) return (uint16_t)sign;  // below half the smallest subnormal
        uint32_t e = ax >> 23, mant = (ax & 0x7fffff) | 0x800000;
        uint32_t shift = 126 - e;  // 14 + 13 − (e − 127) … places the value in units of 2^-24
        uint32_t q = mant >> shift, rem = mant & ((1u << shift) - 1), halfway = 1u << (shift - 1);
        if (rem > halfway || (rem == halfway && (q & 1))) q++;
        return (uint16_t)(sign | q);
    }
    uint32_t r = ax + 0xfffu + ((ax >> 13) & 1);  // round the 13 dropped bits to nearest even
    return (uint16_t)(sign | ((r - 0x38000000u) >> 13));
}

TLK_CLONES
void tlk_pack_panels_half(size_t k, size_t n, const float *b, uint16_t *packed, int fmt, size_t panel_begin,
                          size_t panel_end) {
    for (size_t p = panel_begin; p < panel_end; p++) {
        size_t width = n - p * 64 < 64 ? n - p * 64 : 64;
        for (size_t i = 0; i < k; i++) {
            uint16_t *dst = packed + (p * k + i) * 64;
            const float *src = b + i * n + p * 64;
            for (size_t j = 0; j < width; j++) dst[j] = tlk_float_to_half(fmt, src[j]);
            for (size_t j = width; j < 64; j++) dst[j] = 0;
        }
    }
}

void tlk_unpack_panels_half(size_t k, size_t n, const uint16_t *packed, int fmt, float *b, size_t row_begin,
                            size_t row_end) {
    for (size_t i = row_begin; i < row_end; i++)
        for (size_t j = 0; j < n; j++) b[i * n + j] = tlk_half_to_float(fmt, packed[((j / 64) * k + i) * 64 + j % 64]);
}

/// MR rows × 64 columns of C from one half panel, widening each panel row as it is read.
TLK_INLINE void half_tile(const int MR, const int fmt, size_t k, const float *a, size_t lda, const uint16_t *panel,
                          float *c, size_t ldc) {
    v16 acc[HMR][4];
    _Pragma("clang loop unroll(full)") for (int r = 0; r < MR; r++)
        _Pragma("clang loop unroll(full)") for (int v = 0; v < 4; v++) acc[r][v] = splat16(0);
    for (size_t i = 0; i < k; i++) {
        const uint16_t *row = panel + i * 64;
        v16 bv[4];
        _Pragma("clang loop unroll(full)") for (int v = 0; v < 4; v++) widen16(fmt, row + 16 * v, &bv[v]);
        _Pragma("clang loop unroll(full)") for (int r = 0; r < MR; r++) {
            float as = a[r * lda + i];
            v16 av = splat16(as);
            _Pragma("clang loop unroll(full)") for (int v = 0; v < 4; v++) acc[r][v] += av * bv[v];
        }
    }
    _Pragma("clang loop unroll(full)") for (int r = 0; r < MR; r++)
        _Pragma("clang loop unroll(full)") for (int v = 0; v < 4; v++) store16(c + r * ldc + 16 * v, acc[r][v]);
}

TLK_INLINE void half_rows(const int fmt, size_t rows, size_t k, const float *a, size_t lda, const uint16_t *panel,
                          float *c, size_t ldc) {
    switch (rows) {
    case 6: half_tile(6, fmt, k, a, lda, panel, c, ldc); break;
    case 5: half_tile(5, fmt, k, a, lda, panel, c, ldc); break;
    case 4: half_tile(4, fmt, k, a, lda, panel, c, ldc); break;
    case 3: half_tile(3, fmt, k, a, lda, panel, c, ldc); break;
    case 2: half_tile(2, fmt, k, a, lda, panel, c, ldc); break;
    default: half_tile(1, fmt, k, a, lda, panel, c, ldc); break;
    }
}

/// The calling thread's scratch panel for k rows, kept between calls: a fresh multi-MB malloc per
/// call is an mmap, page faults and an munmap each time (measured: half the CPU time in the kernel).
static float *widened_panel(size_t k) {
    static __thread float *panel;
    static __thread size_t capacity;
    if (capacity < k * 64) {
        free(panel);
        panel = malloc(k * 64 * sizeof(float));
        capacity = panel ? k * 64 : 0;
    }
    return panel;
}

/// Few rows without AVX-512 (fewrows.h): each chunk of FEW_KC panel rows is widened into a 2 KB
/// Float32 scratch in L1 (prefetching the 16-bit rows FEW_PREFETCH_ROWS ahead), then worked by
/// the Float32 strips. Without AVX-512 the 6 × 64 half tile needs 48 ymm accumulators and spills.
TLK_INLINE void few_rows_half_panel(const int fmt, size_t m, size_t k, const float *a, size_t lda, const uint16_t *panel,
                                   float *c, size_t ldc) {
    float acc[4][FEW_ROWS_MAX][16];
    float chunk[FEW_KC * 64];
    memset(acc, 0, sizeof acc);
    for (size_t i0 = 0; i0 < k; i0 += FEW_KC) {
        size_t n = i0 + FEW_KC < k ? FEW_KC : k - i0;
        const uint16_t *rows = panel + i0 * 64;
        for (size_t i = 0; i < n; i++) {
            __builtin_prefetch(rows + (i + FEW_PREFETCH_ROWS) * 64);       // a 128-byte row: two lines
            __builtin_prefetch(rows + (i + FEW_PREFETCH_ROWS) * 64 + 32);
            _Pragma("clang loop unroll(full)") for (int v = 0; v < 4; v++) {
                v16 f;
                widen16(fmt, rows + i * 64 + 16 * v, &f);
                store16(chunk + i * 64 + 16 * v, f);
            }
        }
        few_rows_chunk(m, n, a + i0, lda, chunk, 0, acc);
    }
    few_rows_store(m, acc, c, ldc);
}

TLK_INLINE void gemm_half(const int fmt, size_t m, size_t k, const float *a, size_t lda, const uint16_t *packed,
                          float *c, size_t ldc, size_t panel_begin, size_t panel_end) {
    if (!tlk_wide_tiles() && m >= 3 && m <= FEW_ROWS_MAX) {
        for (size_t p = panel_begin; p < panel_end; p++)
            few_rows_half_panel(fmt, m, k, a, lda, packed + p * k * 64, c + p * 64, ldc);
        return;
    }
    // Few rows: widen each panel row inside the tile (the panel is read once or twice). More rows:
    // widen the panel once into a Float32 scratch panel that every row tile then reads from cache,
    // so the widening is not repeated per 6-row tile.
    float *scratch = m > WIDEN_ROWS ? widened_panel(k) : NULL;
    for (size_t p = panel_begin; p < panel_end; p++) {
        const uint16_t *panel = packed + p * k * 64;
        if (scratch) {
            for (size_t i = 0; i < k * 64; i += 16) {
                v16 f;
                widen16(fmt, panel + i, &f);
                store16(scratch + i, f);
            }
            // A widened panel is a Float32 panel: the packed product's tiles (sized for this CPU's
            // vector registers) take it from here.
            tlk_gemm_packed(m, k, a, lda, scratch, c + p * 64, ldc, 0, 1);
        } else {
            for (size_t r = 0; r < m; r += HMR)
                half_rows(fmt, m - r < HMR ? m - r : HMR, k, a + r * lda, lda, panel, c + r * ldc + p * 64, ldc);
        }
    }
}

TLK_CLONES
void tlk_gemm_packed_half(size_t m, size_t k, const float *a, size_t lda, const uint16_t *packed, int fmt, float *c,
                          size_t ldc, size_t panel_begin, size_t panel_end) {
    if (fmt == TLK_HALF_BF16) gemm_half(TLK_HALF_BF16, m, k, a, lda, packed, c, ldc, panel_begin, panel_end);
    else gemm_half(TLK_HALF_F16, m, k, a, lda, packed, c, ldc, panel_begin, panel_end);
}

void tlk_gemm_half_reference(size_t m, size_t k, size_t n, const float *a, const uint16_t *b, int fmt, float *c) {
    for (size_t r = 0; r < m; r++)
        for (size_t j = 0; j < n; j++) {
            float s = 0;
            for (size_t i = 0; i < k; i++) s += a[r * k + i] * tlk_half_to_float(fmt, b[i * n + j]);
            c[r * n + j] = s;
        }
}

/// 16 floats at p → 16 half values (format fmt) at out, rounded to nearest even: the vector form of
/// tlk_float_to_half, bit for bit (NaN stays a quiet NaN, IEEE half overflows to infinity). The
/// subnormal halves come from one Float32 addition of a magic constant whose exponent leaves
/// exactly the half's 10 mantissa bits in place, so the FPU's own round-to-nearest-even rounds them.
TLK_INLINE void narrow16(int fmt, const float *p, uint16_t *out) {
    v16u x;
    memcpy(&x, p, sizeof x);
    v16u r;
    if (fmt == TLK_HALF_BF16) {
        v16u nan = (v16u)((x & 0x7fffffffu) > 0x7f800000u);
        v16u rounded = (x + 0x7fffu + ((x >> 16) & 1)) >> 16;
        r = (rounded & ~nan) | (((x >> 16) | 0x40) & nan);
    } else {
        v16u sign = (x >> 16) & 0x8000, ax = x & 0x7fffffffu;
        v16u nan = (v16u)(ax > 0x7f800000u), inf = (v16u)(ax >= 0x477ff000u) & ~nan, small = (v16u)(ax < 0x38800000u);
        v16u normal = (ax + 0xfffu + ((ax >> 13) & 1) - 0x38000000u) >> 13;
        const uint32_t magic = 0x3f000000u;  // 0.5: its ulp is 2^-24, the smallest subnormal half
        v16 s = (v16)ax + (v16)((v16u){0} + magic);
        v16u subnormal = (v16u)s - magic;
        r = (normal & ~small) | (subnormal & small);
        r = (r & ~(nan | inf)) | (0x7e00 & nan) | (0x7c00 & inf);
        r |= sign;
    }
    v16h h = __builtin_convertvector(r, v16h);
    memcpy(out, &h, sizeof h);
}

TLK_CLONES
void tlk_narrow_to_half(int fmt, size_t n, const float *src, uint16_t *dst) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) narrow16(fmt, src + i, dst + i);
    for (; i < n; i++) dst[i] = tlk_float_to_half(fmt, src[i]);
}

TLK_CLONES
void tlk_widen_from_half(int fmt, size_t n, const uint16_t *src, float *dst) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        v16 v;
        widen16(fmt, src + i, &v);
        store16(dst + i, v);
    }
    for (; i < n; i++) dst[i] = tlk_half_to_float(fmt, src[i]);
}
