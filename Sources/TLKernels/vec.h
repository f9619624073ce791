// Shared by the kernel files: 16-float vectors (GCC/Clang vector extensions, lowered to one zmm,
// two ymm or four xmm registers depending on the clone), unaligned loads and stores, and the
// clone attribute that compiles a function once per x86-64 level with a load-time dispatcher.
#ifndef TLK_VEC_H
#define TLK_VEC_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef float v16 __attribute__((vector_size(64)));
typedef int32_t v16i __attribute__((vector_size(64)));

#if defined(__x86_64__) && defined(__linux__) && defined(__clang__)
#define TLK_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define TLK_CLONES
#endif

#define TLK_INLINE static inline __attribute__((always_inline))

// Helpers are macros (statement expressions) or take pointers: a function passing a 64-byte vector
// by value is an ABI error in the AVX2 and baseline clones, even when it would be inlined.
#define load16(p) ({ v16 v_; memcpy(&v_, (p), sizeof v_); v_; })
#define store16(p, v) do { v16 s_ = (v); memcpy((p), &s_, sizeof s_); } while (0)
#define splat16(x) ((v16){0} + (float)(x))
#define hsum16(v) ({ v16 h_ = (v); float s_ = 0; for (int i_ = 0; i_ < 16; i_++) s_ += h_[i_]; s_; })
#define hmax16(v) ({ v16 h_ = (v); float m_ = h_[0]; for (int i_ = 1; i_ < 16; i_++) m_ = h_[i_] > m_ ? h_[i_] : m_; m_; })
#define max16(a, b) ({ v16 a_ = (a), b_ = (b); v16i g_ = a_ > b_; (v16)((g_ & (v16i)a_) | (~g_ & (v16i)b_)); })

/// *xp = e^x for 16 lanes, Cephes' expf scheme (range reduction by ln 2, degree-5 polynomial), about
/// 1 ulp; inputs below −87.3 (including −inf) give exactly 0, above 88.7 give +inf.
TLK_INLINE void exp16(v16 *xp) {
    v16 x = *xp;
    const v16 hi = splat16(88.72283935546875f), lo = splat16(-87.33654022216797f);
    v16i under = x < lo;
    v16i over = x > hi;
    v16i nan = x != x;
    v16i tooBig = over & ~nan;
    x = (v16)((x < lo) & (v16i)lo) + (v16)(~(x < lo) & (v16i)x);
    x = (v16)((x > hi) & (v16i)hi) + (v16)(~(x > hi) & (v16i)x);
    // n = round(x / ln 2); r = x − n·ln 2 in two parts for accuracy.
    v16 fx = x * 1.44269504088896341f + 0.5f;
    v16i n = __builtin_convertvector(fx, v16i);
    v16 fn = __builtin_convertvector(n, v16);
    n -= (v16i)(fn > fx) & 1;  // floor
    fn = __builtin_convertvector(n, v16);
    v16 r = x - fn * 0.693359375f;
    r = r - fn * -2.12194440e-4f;
    v16 p = splat16(1.9875691500e-4f);
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    // 2^n scales the result through the exponent bits; n ∈ [−126, 128] after clamping, and
    // n = 128 (x near the top) is handled by scaling twice.
    v16i n1 = n >> 1, n2 = n - n1;
    v16 s1 = (v16)((n1 + 127) << 23), s2 = (v16)((n2 + 127) << 23);
    v16 result = p * s1 * s2;
    v16 inf = splat16(__builtin_inff());
    result = (v16)((~under & ~tooBig & (v16i)result) | (tooBig & (v16i)inf));
    *xp = (v16)(((v16i)result & ~nan) | ((v16i)x & nan));
}

#endif
