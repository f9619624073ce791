// Element-wise kernels of the forward pass, vectorised 16 lanes at a time (see vec.h for exp16).
#include <math.h>
#include "TLKernels.h"
#include "vec.h"

TLK_CLONES
void tlk_softmax_row(float *row, size_t count) {
    if (count == 0) return;
    size_t full = count & ~(size_t)15, tail = count - full;
    float padded[16];
    v16 mv = splat16(-INFINITY);
    for (size_t j = 0; j < full; j += 16) mv = max16(mv, load16(row + j));
    float m = hmax16(mv);
    for (size_t j = full; j < count; j++) m = row[j] > m ? row[j] : m;
    if (m == -INFINITY) {
        memset(row, 0, count * sizeof(float));
        return;
    }
    v16 mx = splat16(m), sv = splat16(0);
    for (size_t j = 0; j < full; j += 16) {
        v16 e = load16(row + j) - mx;
        exp16(&e);
        store16(row + j, e);
        sv += e;
    }
    if (tail) {
        for (int i = 0; i < 16; i++) padded[i] = -INFINITY;
        memcpy(padded, row + full, tail * sizeof(float));
        v16 e = load16(padded) - mx;
        exp16(&e);
        sv += e;
        store16(padded, e);
        memcpy(row + full, padded, tail * sizeof(float));
    }
    v16 inv = splat16(1.0f / hsum16(sv));
    for (size_t j = 0; j < full; j += 16) store16(row + j, load16(row + j) * inv);
    for (size_t j = full; j < count; j++) row[j] *= inv[0];
}

/// gelu_new(x) = 0.5·x·(1 + tanh(u)) with u = √(2/π)(x + 0.044715x³), computed as the equal
/// x / (1 + e^(−2u)), which has no cancellation near 0 and needs one exp.
TLK_INLINE void gelu16(float *p) {
    v16 x = load16(p);
    v16 e = -2.0f * (0.7978845608028654f * (x + 0.044715f * x * x * x));
    exp16(&e);
    store16(p, x / (1.0f + e));
}

TLK_CLONES
void tlk_gelu_new(float *x, size_t count) {
    size_t j = 0;
    for (; j + 16 <= count; j += 16) gelu16(x + j);
    if (j < count) {
        float padded[16] = {0};
        memcpy(padded, x + j, (count - j) * sizeof(float));
        gelu16(padded);
        memcpy(x + j, padded, (count - j) * sizeof(float));
    }
}

TLK_CLONES
void tlk_layernorm_pre(float *x, size_t rows, size_t d, float eps, float *scales) {
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * d;
        size_t full = d & ~(size_t)15;
        v16 sv = splat16(0);
        for (size_t i = 0; i < full; i += 16) sv += load16(row + i);
        float sum = hsum16(sv);
        for (size_t i = full; i < d; i++) sum += row[i];
        float mean = sum / (float)d;
        v16 mv = splat16(mean), qv = splat16(0);
        for (size_t i = 0; i < full; i += 16) {
            v16 c = load16(row + i) - mv;
            store16(row + i, c);
            qv += c * c;
        }
        float sq = hsum16(qv);
        for (size_t i = full; i < d; i++) { row[i] -= mean; sq += row[i] * row[i]; }
        float scale = sqrtf(sq / (float)d + eps);
        scales[r] = scale;
        v16 s = splat16(scale);
        for (size_t i = 0; i < full; i += 16) store16(row + i, load16(row + i) / s);
        for (size_t i = full; i < d; i++) row[i] /= scale;
    }
}

TLK_CLONES
void tlk_add_bias(float *x, size_t rows, size_t n, const float *bias) {
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * n;
        size_t i = 0;
        for (; i + 16 <= n; i += 16) store16(row + i, load16(row + i) + load16(bias + i));
        for (; i < n; i++) row[i] += bias[i];
    }
}

TLK_CLONES
void tlk_add(float *y, const float *x, size_t count) {
    size_t i = 0;
    for (; i + 16 <= count; i += 16) store16(y + i, load16(y + i) + load16(x + i));
    for (; i < count; i++) y[i] += x[i];
}
