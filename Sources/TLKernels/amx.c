// Matrix products on Intel AMX tiles in bfloat16 with Float32 accumulation, for the opt-in reduced
// matmul precisions (TLKernels.h: tlk_bf16_*). One TDPBF16PS multiplies a 16×32 bf16 tile by a
// 32×16 one into 16×16 floats: about 1.4 TFLOP/s per core here, against about 0.16 for AVX-512
// Float32 FMAs. "high" splits each float into two bf16 terms (x ≈ hi + lo, about 16 significant
// bits) and sums three products, hi·hi + hi·lo + lo·hi, as PyTorch's float32_matmul_precision
// "high" does; "medium" uses hi·hi alone.
//
// These functions are compiled for AMX only (no target_clones): callers must check
// tlk_amx_enable() first.
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include "TLKernels.h"

#if defined(__x86_64__) && defined(__linux__) && defined(__clang__)
#include <cpuid.h>
#include <immintrin.h>
#define TLK_AMX_BUILT 1
#define AMX_TARGET __attribute__((target("amx-tile,amx-bf16,avx512f,avx512bw,avx512bf16")))
#endif

enum { TILE = 16, KSTEP = 32 };  // a tile is 16 rows × 64 bytes: 16 floats, or 32 bf16
enum { PF_STEPS = 2 };           // k steps between a tile's L1 prefetch and its load

int tlk_amx_enable(void) {
#ifdef TLK_AMX_BUILT
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return -1;
    const unsigned amxBF16 = 1u << 22, amxTile = 1u << 24;
    if ((d & amxBF16) == 0 || (d & amxTile) == 0) return -1;
    if (!__get_cpuid_count(7, 1, &a, &b, &c, &d) || (a & (1u << 5)) == 0) return -1;  // AVX512_BF16
    // Linux hands out the 8 KB tile state only to processes that ask (arch_prctl, since 5.16).
    const long archReqXcompPerm = 0x1023, xfeatureXtiledata = 18;
    return syscall(SYS_arch_prctl, archReqXcompPerm, xfeatureXtiledata) == 0 ? 0 : -1;
#else
    return -1;
#endif
}

#ifdef TLK_AMX_BUILT
/// x → bf16 by round-to-nearest-even on the bit pattern (finite inputs; NaN stays NaN).
static inline uint16_t bf16_round(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}

static inline float bf16_value(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float x;
    memcpy(&x, &u, 4);
    return x;
}

/// hi = bf16(x); lo = bf16(x − hi), the rounding error of hi (exact in Float32).
static inline void bf16_split(float x, uint16_t *hi, uint16_t *lo) {
    *hi = bf16_round(x);
    if (lo) *lo = bf16_round(x - bf16_value(*hi));
}
#endif

size_t tlk_bf16_padded(size_t n) { return (n + KSTEP - 1) / KSTEP * KSTEP; }

void tlk_bf16_pack_b(size_t k, size_t n, const float *b, uint16_t *hi, uint16_t *lo, size_t block_begin, size_t block_end) {
#ifdef TLK_AMX_BUILT
    // Block j holds columns [16j, 16j + 16) for every k as tiles of 32 k × 16 columns, each stored
    // as 16 rows of (k pair) × 16 columns × 2 (the VNNI layout TDPBF16PS reads); zero-padded.
    const size_t kp = tlk_bf16_padded(k);
    for (size_t j = block_begin; j < block_end; j++)
        for (size_t i = 0; i < kp; i++)
            for (size_t col = 0; col < TILE; col++) {
                size_t src = j * TILE + col;
                float x = (i < k && src < n) ? b[i * n + src] : 0;
                size_t at = (j * kp + (i & ~(size_t)1)) * TILE + col * 2 + (i & 1);
                bf16_split(x, hi + at, lo ? lo + at : NULL);
            }
#else
    (void)k, (void)n, (void)b, (void)hi, (void)lo, (void)block_begin, (void)block_end;
#endif
}

#ifdef TLK_AMX_BUILT
AMX_TARGET
void tlk_bf16_split_rows(size_t rows, size_t k, const float *a, size_t lda, uint16_t *hi, uint16_t *lo) {
    // Sixteen at a time: VCVTNEPS2BF16 rounds to nearest even like bf16_round; the tail and the
    // zero padding up to a multiple of 32 go through a masked load.
    const size_t kp = tlk_bf16_padded(k);
    for (size_t r = 0; r < rows; r++) {
        const float *src = a + r * lda;
        for (size_t i = 0; i < kp; i += 16) {
            __mmask16 valid = i >= k ? 0 : (k - i >= 16 ? 0xffff : (__mmask16)((1u << (k - i)) - 1));
            __m512 x = _mm512_maskz_loadu_ps(valid, src + i);
            __m256bh h = _mm512_cvtneps_pbh(x);
            _mm256_storeu_si256((__m256i *)(hi + r * kp + i), (__m256i)h);
            if (lo) {
                __m512 back = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32((__m256i)h), 16));
                __m256bh l = _mm512_cvtneps_pbh(_mm512_sub_ps(x, back));
                _mm256_storeu_si256((__m256i *)(lo + r * kp + i), (__m256i)l);
            }
        }
    }
}
#else
void tlk_bf16_split_rows(size_t rows, size_t k, const float *a, size_t lda, uint16_t *hi, uint16_t *lo) {
    (void)rows, (void)k, (void)a, (void)lda, (void)hi, (void)lo;
}
#endif

#ifdef TLK_AMX_BUILT
typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tile_config;

/// Stores tile `t` (16×16 floats) to C rows [0, rows) and columns [0, cols), through a buffer
/// when it is a partial tile.
#define STORE_TILE(t, cp, ldc, rows, cols)                                                  \
    do {                                                                                    \
        if ((rows) == TILE && (cols) == TILE) {                                             \
            _tile_stored(t, (cp), (ldc) * sizeof(float));                                   \
        } else if ((rows) > 0 && (cols) > 0) {                                              \
            float buf_[TILE * TILE];                                                        \
            _tile_stored(t, buf_, TILE * sizeof(float));                                    \
            for (size_t r_ = 0; r_ < (rows); r_++)                                          \
                memcpy((cp) + r_ * (ldc), buf_ + r_ * TILE, (cols) * sizeof(float));        \
        }                                                                                   \
    } while (0)

static inline size_t clamp_tile(size_t begin, size_t end) { return begin >= end ? 0 : (end - begin < TILE ? end - begin : TILE); }

AMX_TARGET
void tlk_bf16_gemm(size_t m, size_t k, size_t n, const uint16_t *a_hi, const uint16_t *a_lo, const uint16_t *b_hi,
                   const uint16_t *b_lo, float *c, size_t ldc, size_t block_begin, size_t block_end) {
    const size_t kp = tlk_bf16_padded(k), ksteps = kp / KSTEP, lda = kp * 2;  // lda in bytes
    const int three = a_lo && b_lo;
    tile_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) { cfg.rows[t] = TILE; cfg.colsb[t] = 64; }
    // Fewer than 32 rows (generation, short prompts): the A and C tiles get only the rows that
    // exist, since a tile product's time grows with its rows; with ≤ 16 the second row tile is
    // not used at all. The weights then stream at half the bytes of Float32 ("medium").
    const int second = m > TILE;
    if (m < 2 * TILE) {
        cfg.rows[0] = cfg.rows[1] = cfg.rows[4] = (uint8_t)(m < TILE ? m : TILE);
        if (second) cfg.rows[2] = cfg.rows[3] = cfg.rows[5] = (uint8_t)(m - TILE);
    }
    _tile_loadconfig(&cfg);
    // A's rows are padded to a multiple of 32 by the caller (zeros), so every tile load is whole;
    // only the stores are cut to m and n. Rows go in chunks whose A stays in L2 while the column
    // blocks of B stream past; each 32 × 32 block of C is four accumulator tiles (tmm0–3), with
    // two A tiles (tmm4, 5) and two B tiles (tmm6, 7) per k step.
    size_t chunk = ((size_t)1 << 20) / (kp * 2 * (three ? 2 : 1)) / 32 * 32;  // A's chunk: ≤ 1 MB of L2
    chunk = chunk < 32 ? 32 : (chunk > 256 ? 256 : chunk);
    for (size_t r0 = 0; r0 < m; r0 += chunk) {
        size_t r1 = r0 + chunk < m ? r0 + chunk : m;
        for (size_t j = block_begin; j < block_end; j += 2) {
            const int pair = j + 1 < block_end;
            const uint16_t *bh0 = b_hi + j * kp * TILE, *bh1 = pair ? bh0 + kp * TILE : bh0;
            const uint16_t *bl0 = three ? b_lo + j * kp * TILE : NULL, *bl1 = three && pair ? bl0 + kp * TILE : bl0;
            for (size_t r = r0; r < r1; r += 2 * TILE) {
                const uint16_t *ah0 = a_hi + r * kp, *ah1 = ah0 + TILE * kp;
                const uint16_t *al0 = three ? a_lo + r * kp : NULL, *al1 = three ? al0 + TILE * kp : NULL;
                _tile_zero(0); _tile_zero(1);
                if (second) { _tile_zero(2); _tile_zero(3); }
                for (size_t s = 0; s < ksteps; s++) {
                    size_t ka = s * KSTEP, kb = s * KSTEP * TILE;
                    // Tile registers are not renamed, so a load waits for the products still
                    // reading its register: the next step's lines must already be in L1.
                    // The first row block also pulls the next column pair's B into L2: weights
                    // come from memory, once per row chunk.
                    if (r == r0 && j + 2 < block_end) {
                        const uint16_t *nh = bh0 + 2 * kp * TILE + kb, *nl = three ? bl0 + 2 * kp * TILE + kb : NULL;
                        for (int q = 0; q < TILE; q++) {
                            _mm_prefetch((const char *)(nh + q * 32), _MM_HINT_T1);
                            _mm_prefetch((const char *)(nh + kp * TILE + q * 32), _MM_HINT_T1);
                            if (three) {
                                _mm_prefetch((const char *)(nl + q * 32), _MM_HINT_T1);
                                _mm_prefetch((const char *)(nl + kp * TILE + q * 32), _MM_HINT_T1);
                            }
                        }
                    }
                    if (s + PF_STEPS < ksteps) {
                        size_t pa = ka + PF_STEPS * KSTEP, pb = kb + PF_STEPS * KSTEP * TILE;
                        for (int q = 0; q < TILE; q++) {
                            _mm_prefetch((const char *)(ah0 + pa + q * kp), _MM_HINT_T0);
                            if (second) _mm_prefetch((const char *)(ah1 + pa + q * kp), _MM_HINT_T0);
                            _mm_prefetch((const char *)(bh0 + pb + q * 32), _MM_HINT_T0);
                            _mm_prefetch((const char *)(bh1 + pb + q * 32), _MM_HINT_T0);
                            if (three) {
                                _mm_prefetch((const char *)(al0 + pa + q * kp), _MM_HINT_T0);
                                if (second) _mm_prefetch((const char *)(al1 + pa + q * kp), _MM_HINT_T0);
                                _mm_prefetch((const char *)(bl0 + pb + q * 32), _MM_HINT_T0);
                                _mm_prefetch((const char *)(bl1 + pb + q * 32), _MM_HINT_T0);
                            }
                        }
                    }
                    _tile_loadd(4, ah0 + ka, lda);
                    if (second) _tile_loadd(5, ah1 + ka, lda);
                    _tile_loadd(6, bh0 + kb, 64);
                    _tile_loadd(7, bh1 + kb, 64);
                    _tile_dpbf16ps(0, 4, 6); _tile_dpbf16ps(1, 4, 7);
                    if (second) { _tile_dpbf16ps(2, 5, 6); _tile_dpbf16ps(3, 5, 7); }
                    if (three) {
                        _tile_loadd(6, bl0 + kb, 64);  // hi · lo
                        _tile_loadd(7, bl1 + kb, 64);
                        _tile_dpbf16ps(0, 4, 6); _tile_dpbf16ps(1, 4, 7);
                        if (second) { _tile_dpbf16ps(2, 5, 6); _tile_dpbf16ps(3, 5, 7); }
                        _tile_loadd(4, al0 + ka, lda);  // lo · hi
                        if (second) _tile_loadd(5, al1 + ka, lda);
                        _tile_loadd(6, bh0 + kb, 64);
                        _tile_loadd(7, bh1 + kb, 64);
                        _tile_dpbf16ps(0, 4, 6); _tile_dpbf16ps(1, 4, 7);
                        if (second) { _tile_dpbf16ps(2, 5, 6); _tile_dpbf16ps(3, 5, 7); }
                    }
                }
                size_t rows0 = clamp_tile(r, m), rows1 = clamp_tile(r + TILE, m);
                size_t cols0 = clamp_tile(j * TILE, n), cols1 = pair ? clamp_tile((j + 1) * TILE, n) : 0;
                float *c00 = c + r * ldc + j * TILE;
                STORE_TILE(0, c00, ldc, rows0, cols0);
                STORE_TILE(1, c00 + TILE, ldc, rows0, cols1);
                STORE_TILE(2, c00 + TILE * ldc, ldc, rows1, cols0);
                STORE_TILE(3, c00 + TILE * ldc + TILE, ldc, rows1, cols1);
            }
        }
    }
    _tile_release();
}
#else
void tlk_bf16_gemm(size_t m, size_t k, size_t n, const uint16_t *a_hi, const uint16_t *a_lo, const uint16_t *b_hi,
                   const uint16_t *b_lo, float *c, size_t ldc, size_t block_begin, size_t block_end) {
    (void)m, (void)k, (void)n, (void)a_hi, (void)a_lo, (void)b_hi, (void)b_lo, (void)c, (void)ldc;
    (void)block_begin, (void)block_end;
}
#endif
