/*
 * Fused kernels of the GPT's non-matmul work, in C compiled to WebAssembly SIMD (128-bit, 4 floats).
 * Build: models/kernels/simd/build.sh (clang --target=wasm32 -msimd128); the .wasm is committed.
 *
 * The module has its own linear memory: the JavaScript side (models/kernels/simd-module.ts) copies inputs in,
 * calls one function, and copies outputs out. Pointers below are byte offsets into that memory; every array is
 * row-major float32. Layouts match the ops in models/ops/:
 *   attention: qkv (B, T, 3D) and cached key|value (B, P, 2D), heads side by side (D = H * hd), keyMask (B, S)
 *              0/1 with S = P + T, probabilities (B, H, T, S); query i (slot P + i) sees key j <= P + i.
 *   grouped attention: q (B, T, Hq*hd), key|value (B, T, 2*Hkv*hd) and cached key|value (B, P, 2*Hkv*hd).
 *   layer norm: x (N, D), weight/bias (D), per-row mean and 1/std (N).
 *   gelu: any length.
 *
 * No libc: sqrt is the f32.sqrt instruction, exp is exp_approx below, fills are memory.fill (bulk memory).
 */
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))

typedef v128_t f4;

static inline float horizontal_sum(f4 v) {
  return wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1) + wasm_f32x4_extract_lane(v, 2) + wasm_f32x4_extract_lane(v, 3);
}

/* sum_d a[d] * b[d] */
static inline float dot(const float *a, const float *b, int n) {
  f4 acc0 = wasm_f32x4_splat(0.0f), acc1 = wasm_f32x4_splat(0.0f);
  int d = 0;
  for (; d + 8 <= n; d += 8) {
    acc0 = wasm_f32x4_add(acc0, wasm_f32x4_mul(wasm_v128_load(a + d), wasm_v128_load(b + d)));
    acc1 = wasm_f32x4_add(acc1, wasm_f32x4_mul(wasm_v128_load(a + d + 4), wasm_v128_load(b + d + 4)));
  }
  for (; d + 4 <= n; d += 4) acc0 = wasm_f32x4_add(acc0, wasm_f32x4_mul(wasm_v128_load(a + d), wasm_v128_load(b + d)));
  float sum = horizontal_sum(wasm_f32x4_add(acc0, acc1));
  for (; d < n; d++) sum += a[d] * b[d];
  return sum;
}

/*
 * e^x for float32 (Cephes expf: x = n ln2 + r, |r| <= ln2/2, degree-5 polynomial for e^r, 2^n by exponent
 * bits), about 1 ulp on [-87, 88]; below -87 it returns 0.
 */
static inline f4 exp4(f4 x) {
  const f4 too_small = wasm_f32x4_lt(x, wasm_f32x4_splat(-87.3f));
  x = wasm_f32x4_min(wasm_f32x4_max(x, wasm_f32x4_splat(-87.3f)), wasm_f32x4_splat(88.3f));
  f4 n = wasm_f32x4_floor(wasm_f32x4_add(wasm_f32x4_mul(x, wasm_f32x4_splat(1.44269504088896341f)), wasm_f32x4_splat(0.5f)));
  x = wasm_f32x4_sub(x, wasm_f32x4_mul(n, wasm_f32x4_splat(0.693359375f)));
  x = wasm_f32x4_sub(x, wasm_f32x4_mul(n, wasm_f32x4_splat(-2.12194440e-4f)));
  f4 y = wasm_f32x4_splat(1.9875691500e-4f);
  y = wasm_f32x4_add(wasm_f32x4_mul(y, x), wasm_f32x4_splat(1.3981999507e-3f));
  y = wasm_f32x4_add(wasm_f32x4_mul(y, x), wasm_f32x4_splat(8.3334519073e-3f));
  y = wasm_f32x4_add(wasm_f32x4_mul(y, x), wasm_f32x4_splat(4.1665795894e-2f));
  y = wasm_f32x4_add(wasm_f32x4_mul(y, x), wasm_f32x4_splat(1.6666665459e-1f));
  y = wasm_f32x4_add(wasm_f32x4_mul(y, x), wasm_f32x4_splat(5.0000001201e-1f));
  y = wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_mul(y, x), x), x), wasm_f32x4_splat(1.0f));
  f4 scale = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(n), wasm_i32x4_splat(127)), 23);
  return wasm_v128_andnot(wasm_f32x4_mul(y, scale), too_small);
}

static inline float exp1(float x) { return wasm_f32x4_extract_lane(exp4(wasm_f32x4_splat(x)), 0); }

/* ---------------------------------------------------------------------------------------------------------- */
/* Causal multi-head attention on the fused qkv projection                                                      */
/*   qkv (B, T, 3D): query | key | value of the T new tokens; past (B, P, 2D): key | value of P cached tokens.    */
/*   Key j < P comes from past, key j >= P from qkv row j - P; S = P + T; query i sits at slot P + i.           */

/* scores[j] = x . rows[j * stride] for j < count; four rows at a time so that four dot products overlap. */
static void row_dots(float *scores, const float *x, const float *rows, int stride, int count, int hd) {
  int j = 0;
  for (; j + 4 <= count; j += 4) {
    const float *r0 = rows + j * stride, *r1 = r0 + stride, *r2 = r1 + stride, *r3 = r2 + stride;
    f4 a0 = wasm_f32x4_splat(0.0f), a1 = a0, a2 = a0, a3 = a0;
    int d = 0;
    for (; d + 4 <= hd; d += 4) {
      f4 xv = wasm_v128_load(x + d);
      a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(xv, wasm_v128_load(r0 + d)));
      a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(xv, wasm_v128_load(r1 + d)));
      a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(xv, wasm_v128_load(r2 + d)));
      a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(xv, wasm_v128_load(r3 + d)));
    }
    float s0 = horizontal_sum(a0), s1 = horizontal_sum(a1), s2 = horizontal_sum(a2), s3 = horizontal_sum(a3);
    for (; d < hd; d++) {
      s0 += x[d] * r0[d];
      s1 += x[d] * r1[d];
      s2 += x[d] * r2[d];
      s3 += x[d] * r3[d];
    }
    scores[j] = s0;
    scores[j + 1] = s1;
    scores[j + 2] = s2;
    scores[j + 3] = s3;
  }
  for (; j < count; j++) scores[j] = dot(x, rows + j * stride, hd);
}

/*
 * out[0 .. hd) (+)= sum_{j < count, w[j] != 0} w[j] * rows[j * stride]: the accumulators stay in registers
 * across the rows (16 floats at a time).
 */
static void weighted_rows(float *out, const float *w, const float *rows, int stride, int count, int hd, int accumulate) {
  int d = 0;
  for (; d + 16 <= hd; d += 16) {
    f4 a0 = accumulate ? wasm_v128_load(out + d) : wasm_f32x4_splat(0.0f);
    f4 a1 = accumulate ? wasm_v128_load(out + d + 4) : wasm_f32x4_splat(0.0f);
    f4 a2 = accumulate ? wasm_v128_load(out + d + 8) : wasm_f32x4_splat(0.0f);
    f4 a3 = accumulate ? wasm_v128_load(out + d + 12) : wasm_f32x4_splat(0.0f);
    for (int j = 0; j < count; j++) {
      if (w[j] == 0.0f) continue;
      const f4 wj = wasm_f32x4_splat(w[j]);
      const float *row = rows + j * stride + d;
      a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(wj, wasm_v128_load(row)));
      a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(wj, wasm_v128_load(row + 4)));
      a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(wj, wasm_v128_load(row + 8)));
      a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(wj, wasm_v128_load(row + 12)));
    }
    wasm_v128_store(out + d, a0);
    wasm_v128_store(out + d + 4, a1);
    wasm_v128_store(out + d + 8, a2);
    wasm_v128_store(out + d + 12, a3);
  }
  for (; d + 4 <= hd; d += 4) {
    f4 a = accumulate ? wasm_v128_load(out + d) : wasm_f32x4_splat(0.0f);
    for (int j = 0; j < count; j++) {
      if (w[j] != 0.0f) a = wasm_f32x4_add(a, wasm_f32x4_mul(wasm_f32x4_splat(w[j]), wasm_v128_load(rows + j * stride + d)));
    }
    wasm_v128_store(out + d, a);
  }
  for (; d < hd; d++) {
    float a = accumulate ? out[d] : 0.0f;
    for (int j = 0; j < count; j++) a += w[j] * rows[j * stride + d];
    out[d] = a;
  }
}

/* p[j] <- softmax over the visible keys j <= last with mask[j] != 0 (others 0); uniform 1/S if none is visible. */
static void masked_softmax(float *p, const float *mask, int last, int S) {
  float maximum = -3.0e38f;
  int allowed = 0;
  for (int j = 0; j <= last; j++) {
    if (mask[j] == 0.0f) continue;
    if (p[j] > maximum) maximum = p[j];
    allowed++;
  }
  if (allowed == 0) {
    /* No visible key (a left-pad slot): uniform over all keys, as softmax of an all -1e9 row gives. */
    for (int j = 0; j < S; j++) p[j] = 1.0f / (float)S;
    return;
  }
  float total = 0.0f;
  for (int j = 0; j <= last; j++) {
    float weight = mask[j] == 0.0f ? 0.0f : exp1(p[j] - maximum);
    p[j] = weight;
    total += weight;
  }
  const float inverse = 1.0f / total;
  for (int j = 0; j <= last; j++) p[j] *= inverse;
  for (int j = last + 1; j < S; j++) p[j] = 0.0f;
}

EXPORT(attention_forward)
void attention_forward(const float *qkv, const float *past, const float *key_mask, float *output, float *probabilities, int B, int T,
                       int P, int D, int H) {
  const int hd = D / H;
  const int S = P + T;
  const float scale = 1.0f / __builtin_sqrtf((float)hd);
  for (int b = 0; b < B; b++) {
    const float *mask = key_mask + b * S;
    const float *past_rows = past + b * P * 2 * D;
    const float *new_rows = qkv + b * T * 3 * D;
    for (int h = 0; h < H; h++) {
      const int column = h * hd;
      for (int i = 0; i < T; i++) {
        const float *q = new_rows + i * 3 * D + column;
        float *p = probabilities + ((b * H + h) * T + i) * S;
        const int last = P + i;
        /* scores of cached keys, then of new keys up to the query itself */
        row_dots(p, q, past_rows + column, 2 * D, P, hd);
        row_dots(p + P, q, new_rows + D + column, 3 * D, i + 1, hd);
        for (int j = 0; j <= last; j++) p[j] *= scale;
        masked_softmax(p, mask, last, S);
        float *out = output + (b * T + i) * D + column;
        weighted_rows(out, p, past_rows + D + column, 2 * D, P, hd, 0);
        weighted_rows(out, p + P, new_rows + 2 * D + column, 3 * D, S - P, hd, 1);
      }
    }
  }
}

/*
 * Gradient w.r.t. qkv for P = 0 (training never differentiates through a cache), per (b, h):
 *   dP = dY V^T, dS = P * (dP - rowsum(P * dP)) / sqrt(hd), dQ = dS K, dK = dS^T Q, dV = P^T dY.
 * scratch: 2 T^2 floats (dS and its transpose, then P's transpose).
 */
EXPORT(attention_backward)
void attention_backward(const float *dy, const float *qkv, const float *probabilities, float *d_qkv, float *scratch, int B, int T, int D,
                        int H) {
  const int hd = D / H;
  const int width = 3 * D;
  const float scale = 1.0f / __builtin_sqrtf((float)hd);
  float *d_scores = scratch;
  float *transposed = scratch + T * T;
  for (int b = 0; b < B; b++) {
    const float *rows = qkv + b * T * width;
    const float *upstream = dy + b * T * D;
    float *d_rows = d_qkv + b * T * width;
    for (int h = 0; h < H; h++) {
      const int column = h * hd;
      const float *p = probabilities + (b * H + h) * T * T;
      /* dS row by row: causal rows have p = 0 after the diagonal; a pad row that saw no key is uniform over all */
      for (int i = 0; i < T; i++) {
        const float *p_row = p + i * T;
        float *ds = d_scores + i * T;
        const int count = p_row[T - 1] != 0.0f ? T : i + 1;
        row_dots(ds, upstream + i * D + column, rows + 2 * D + column, width, count, hd);
        float weighted = 0.0f;
        for (int j = 0; j < count; j++) weighted += p_row[j] * ds[j];
        for (int j = 0; j < count; j++) ds[j] = p_row[j] * (ds[j] - weighted) * scale;
        for (int j = count; j < T; j++) ds[j] = 0.0f;
      }
      /* dQ_i = sum_j dS_ij K_j */
      for (int i = 0; i < T; i++) weighted_rows(d_rows + i * width + column, d_scores + i * T, rows + D + column, width, T, hd, 0);
      /* dK_j = sum_i dS_ij Q_i */
      for (int i = 0; i < T; i++)
        for (int j = 0; j < T; j++) transposed[j * T + i] = d_scores[i * T + j];
      for (int j = 0; j < T; j++) weighted_rows(d_rows + j * width + D + column, transposed + j * T, rows + column, width, T, hd, 0);
      /* dV_j = sum_i P_ij dY_i */
      for (int i = 0; i < T; i++)
        for (int j = 0; j < T; j++) transposed[j * T + i] = p[i * T + j];
      for (int j = 0; j < T; j++) weighted_rows(d_rows + j * width + 2 * D + column, transposed + j * T, upstream + column, D, T, hd, 0);
    }
  }
}

/* ---------------------------------------------------------------------------------------------------------- */
/* Grouped-query attention (Hq query heads share Hkv key/value heads; query head h reads kv head h / G)         */
/*   q (B, T, Hq*hd); kv (B, T, 2*Hkv*hd): key | value of the T new tokens; past (B, P, 2*Hkv*hd) likewise.       */
/*   Same masking and softmax as attention_forward; with Hkv = Hq it computes the same numbers.                 */

EXPORT(grouped_attention_forward)
void grouped_attention_forward(const float *q, const float *kv, const float *past, const float *key_mask, float *output,
                               float *probabilities, int B, int T, int P, int Hq, int Hkv, int hd) {
  const int S = P + T;
  const int G = Hq / Hkv;
  const int width = Hq * hd;
  const int kv_width = 2 * Hkv * hd;
  const float scale = 1.0f / __builtin_sqrtf((float)hd);
  for (int b = 0; b < B; b++) {
    const float *mask = key_mask + b * S;
    const float *past_rows = past + b * P * kv_width;
    const float *new_rows = kv + b * T * kv_width;
    for (int h = 0; h < Hq; h++) {
      const int key_column = (h / G) * hd;
      const int value_column = Hkv * hd + key_column;
      for (int i = 0; i < T; i++) {
        const float *query = q + (b * T + i) * width + h * hd;
        float *p = probabilities + ((b * Hq + h) * T + i) * S;
        const int last = P + i;
        row_dots(p, query, past_rows + key_column, kv_width, P, hd);
        row_dots(p + P, query, new_rows + key_column, kv_width, i + 1, hd);
        for (int j = 0; j <= last; j++) p[j] *= scale;
        masked_softmax(p, mask, last, S);
        float *out = output + (b * T + i) * width + h * hd;
        weighted_rows(out, p, past_rows + value_column, kv_width, P, hd, 0);
        weighted_rows(out, p + P, new_rows + value_column, kv_width, S - P, hd, 1);
      }
    }
  }
}

/*
 * Gradients w.r.t. q and kv for P = 0, per (b, h) as attention_backward; the G query heads of a kv head add
 * their dK and dV into it. scratch: 2 T^2 floats.
 */
EXPORT(grouped_attention_backward)
void grouped_attention_backward(const float *dy, const float *q, const float *kv, const float *probabilities, float *d_q, float *d_kv,
                                float *scratch, int B, int T, int Hq, int Hkv, int hd) {
  const int G = Hq / Hkv;
  const int width = Hq * hd;
  const int kv_width = 2 * Hkv * hd;
  const float scale = 1.0f / __builtin_sqrtf((float)hd);
  float *d_scores = scratch;
  float *transposed = scratch + T * T;
  __builtin_memset(d_kv, 0, (unsigned long)B * T * kv_width * sizeof(float));
  for (int b = 0; b < B; b++) {
    const float *queries = q + b * T * width;
    const float *rows = kv + b * T * kv_width;
    const float *upstream = dy + b * T * width;
    float *d_queries = d_q + b * T * width;
    float *d_rows = d_kv + b * T * kv_width;
    for (int h = 0; h < Hq; h++) {
      const int column = h * hd;
      const int key_column = (h / G) * hd;
      const int value_column = Hkv * hd + key_column;
      const float *p = probabilities + (b * Hq + h) * T * T;
      for (int i = 0; i < T; i++) {
        const float *p_row = p + i * T;
        float *ds = d_scores + i * T;
        const int count = p_row[T - 1] != 0.0f ? T : i + 1;
        row_dots(ds, upstream + i * width + column, rows + value_column, kv_width, count, hd);
        float weighted = 0.0f;
        for (int j = 0; j < count; j++) weighted += p_row[j] * ds[j];
        for (int j = 0; j < count; j++) ds[j] = p_row[j] * (ds[j] - weighted) * scale;
        for (int j = count; j < T; j++) ds[j] = 0.0f;
      }
      /* dQ_i = sum_j dS_ij K_j */
      for (int i = 0; i < T; i++) weighted_rows(d_queries + i * width + column, d_scores + i * T, rows + key_column, kv_width, T, hd, 0);
      /* dK_j += sum_i dS_ij Q_i */
      for (int i = 0; i < T; i++)
        for (int j = 0; j < T; j++) transposed[j * T + i] = d_scores[i * T + j];
      for (int j = 0; j < T; j++) weighted_rows(d_rows + j * kv_width + key_column, transposed + j * T, queries + column, width, T, hd, 1);
      /* dV_j += sum_i P_ij dY_i */
      for (int i = 0; i < T; i++)
        for (int j = 0; j < T; j++) transposed[j * T + i] = p[i * T + j];
      for (int j = 0; j < T; j++) weighted_rows(d_rows + j * kv_width + value_column, transposed + j * T, upstream + column, width, T, hd, 1);
    }
  }
}

/* ---------------------------------------------------------------------------------------------------------- */
/* Layer normalisation over rows of width D                                                                     */

EXPORT(layer_norm_forward)
void layer_norm_forward(const float *x, const float *weight, const float *bias, float *y, float *means, float *rstds, int N, int D,
                        float epsilon) {
  for (int n = 0; n < N; n++) {
    const float *row = x + n * D;
    f4 sum4 = wasm_f32x4_splat(0.0f);
    int d = 0;
    for (; d + 4 <= D; d += 4) sum4 = wasm_f32x4_add(sum4, wasm_v128_load(row + d));
    float sum = horizontal_sum(sum4);
    for (; d < D; d++) sum += row[d];
    const float mean = sum / (float)D;
    const f4 mean4 = wasm_f32x4_splat(mean);
    f4 squares4 = wasm_f32x4_splat(0.0f);
    for (d = 0; d + 4 <= D; d += 4) {
      f4 centered = wasm_f32x4_sub(wasm_v128_load(row + d), mean4);
      squares4 = wasm_f32x4_add(squares4, wasm_f32x4_mul(centered, centered));
    }
    float squares = horizontal_sum(squares4);
    for (; d < D; d++) squares += (row[d] - mean) * (row[d] - mean);
    const float rstd = 1.0f / __builtin_sqrtf(squares / (float)D + epsilon);
    const f4 rstd4 = wasm_f32x4_splat(rstd);
    float *out = y + n * D;
    for (d = 0; d + 4 <= D; d += 4) {
      f4 normalized = wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(row + d), mean4), rstd4);
      wasm_v128_store(out + d, wasm_f32x4_add(wasm_f32x4_mul(normalized, wasm_v128_load(weight + d)), wasm_v128_load(bias + d)));
    }
    for (; d < D; d++) out[d] = (row[d] - mean) * rstd * weight[d] + bias[d];
    means[n] = mean;
    rstds[n] = rstd;
  }
}

/* dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * weight; dweight = sum dy * xhat; dbias = sum dy */
EXPORT(layer_norm_backward)
void layer_norm_backward(const float *dy, const float *x, const float *weight, const float *means, const float *rstds, float *dx,
                         float *d_weight, float *d_bias, int N, int D) {
  __builtin_memset(d_weight, 0, sizeof(float) * D);
  __builtin_memset(d_bias, 0, sizeof(float) * D);
  for (int n = 0; n < N; n++) {
    const float *row = x + n * D;
    const float *upstream = dy + n * D;
    const f4 mean4 = wasm_f32x4_splat(means[n]);
    const f4 rstd4 = wasm_f32x4_splat(rstds[n]);
    f4 sum_g4 = wasm_f32x4_splat(0.0f), sum_gx4 = wasm_f32x4_splat(0.0f);
    int d = 0;
    for (; d + 4 <= D; d += 4) {
      f4 xhat = wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(row + d), mean4), rstd4);
      f4 up = wasm_v128_load(upstream + d);
      f4 g = wasm_f32x4_mul(up, wasm_v128_load(weight + d));
      sum_g4 = wasm_f32x4_add(sum_g4, g);
      sum_gx4 = wasm_f32x4_add(sum_gx4, wasm_f32x4_mul(g, xhat));
      wasm_v128_store(d_weight + d, wasm_f32x4_add(wasm_v128_load(d_weight + d), wasm_f32x4_mul(up, xhat)));
      wasm_v128_store(d_bias + d, wasm_f32x4_add(wasm_v128_load(d_bias + d), up));
    }
    float sum_g = horizontal_sum(sum_g4), sum_gx = horizontal_sum(sum_gx4);
    for (; d < D; d++) {
      float xhat = (row[d] - means[n]) * rstds[n];
      float g = upstream[d] * weight[d];
      sum_g += g;
      sum_gx += g * xhat;
      d_weight[d] += upstream[d] * xhat;
      d_bias[d] += upstream[d];
    }
    const f4 mean_g4 = wasm_f32x4_splat(sum_g / (float)D), mean_gx4 = wasm_f32x4_splat(sum_gx / (float)D);
    float *out = dx + n * D;
    for (d = 0; d + 4 <= D; d += 4) {
      f4 xhat = wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(row + d), mean4), rstd4);
      f4 g = wasm_f32x4_mul(wasm_v128_load(upstream + d), wasm_v128_load(weight + d));
      wasm_v128_store(out + d, wasm_f32x4_mul(rstd4, wasm_f32x4_sub(wasm_f32x4_sub(g, mean_g4), wasm_f32x4_mul(xhat, mean_gx4))));
    }
    for (; d < D; d++) {
      float xhat = (row[d] - means[n]) * rstds[n];
      out[d] = rstds[n] * (upstream[d] * weight[d] - sum_g / (float)D - xhat * (sum_gx / (float)D));
    }
  }
}

/* ---------------------------------------------------------------------------------------------------------- */
/* Exact GELU: x * Phi(x), Phi(x) = erfc(-x / sqrt 2) / 2                                                       */

/*
 * erfc(z) (Press et al., Numerical Recipes 2nd ed., Sec. 6.2 `erfcc`: Chebyshev fit, fractional error below
 * 1.2e-7 everywhere), so Phi keeps full relative precision in the negative tail.
 */
static inline f4 erfc4(f4 z) {
  const f4 a = wasm_f32x4_abs(z);
  const f4 t = wasm_f32x4_div(wasm_f32x4_splat(1.0f), wasm_f32x4_add(wasm_f32x4_splat(1.0f), wasm_f32x4_mul(wasm_f32x4_splat(0.5f), a)));
  f4 poly = wasm_f32x4_splat(0.17087277f);
  poly = wasm_f32x4_add(wasm_f32x4_mul(poly, t), wasm_f32x4_splat(-0.82215223f));
  poly = wasm_f32x4_add(wasm_f32x4_mul(poly, t), wasm_f32x4_splat(1.48851587f));
  poly = wasm_f32x4_add(wasm_f32x4_mul(poly, t), wasm_f32x4_splat(-1.13520398f));
  poly = wasm_f32x4_add(wasm_f32x4_mul(poly, t), wasm_f32x4_splat(0.27886807f));
  poly = wasm_f32x4_add(wasm_f32x4_mul(poly, t), wasm_f32x4_splat(-0.18628806f));
  poly = wasm_f32x4_add(wasm_f32x4_mul(poly, t), wasm_f32x4_splat(0.09678418f));
  poly = wasm_f32x4_add(wasm_f32x4_mul(poly, t), wasm_f32x4_splat(0.37409196f));
  poly = wasm_f32x4_add(wasm_f32x4_mul(poly, t), wasm_f32x4_splat(1.00002368f));
  poly = wasm_f32x4_add(wasm_f32x4_mul(poly, t), wasm_f32x4_splat(-1.26551223f));
  const f4 r = wasm_f32x4_mul(t, exp4(wasm_f32x4_sub(poly, wasm_f32x4_mul(a, a))));
  return wasm_v128_bitselect(r, wasm_f32x4_sub(wasm_f32x4_splat(2.0f), r), wasm_f32x4_ge(z, wasm_f32x4_splat(0.0f)));
}

static inline f4 normal_cdf4(f4 x) { return wasm_f32x4_mul(wasm_f32x4_splat(0.5f), erfc4(wasm_f32x4_mul(x, wasm_f32x4_splat(-0.70710678118654752f)))); }

/*
 * The loops handle 16 floats per iteration: four independent dependency chains let the CPU overlap the long
 * polynomial/exp chains (V8 does not reorder them itself); measured 2.1x faster than one vector at a time.
 */
EXPORT(gelu_forward)
void gelu_forward(const float *x, float *y, int n) {
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    f4 v0 = wasm_v128_load(x + i), v1 = wasm_v128_load(x + i + 4), v2 = wasm_v128_load(x + i + 8), v3 = wasm_v128_load(x + i + 12);
    f4 c0 = normal_cdf4(v0), c1 = normal_cdf4(v1), c2 = normal_cdf4(v2), c3 = normal_cdf4(v3);
    wasm_v128_store(y + i, wasm_f32x4_mul(v0, c0));
    wasm_v128_store(y + i + 4, wasm_f32x4_mul(v1, c1));
    wasm_v128_store(y + i + 8, wasm_f32x4_mul(v2, c2));
    wasm_v128_store(y + i + 12, wasm_f32x4_mul(v3, c3));
  }
  for (; i + 4 <= n; i += 4) {
    f4 v = wasm_v128_load(x + i);
    wasm_v128_store(y + i, wasm_f32x4_mul(v, normal_cdf4(v)));
  }
  for (; i < n; i++) y[i] = x[i] * wasm_f32x4_extract_lane(normal_cdf4(wasm_f32x4_splat(x[i])), 0);
}

/* Phi(x) + x phi(x), phi(x) = exp(-x^2 / 2) / sqrt(2 pi): the derivative of x Phi(x). */
static inline f4 gelu_slope4(f4 v) {
  f4 pdf = wasm_f32x4_mul(wasm_f32x4_splat(0.39894228040143268f), exp4(wasm_f32x4_mul(wasm_f32x4_splat(-0.5f), wasm_f32x4_mul(v, v))));
  return wasm_f32x4_add(normal_cdf4(v), wasm_f32x4_mul(v, pdf));
}

EXPORT(gelu_backward)
void gelu_backward(const float *dy, const float *x, float *dx, int n) {
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    f4 s0 = gelu_slope4(wasm_v128_load(x + i)), s1 = gelu_slope4(wasm_v128_load(x + i + 4));
    f4 s2 = gelu_slope4(wasm_v128_load(x + i + 8)), s3 = gelu_slope4(wasm_v128_load(x + i + 12));
    wasm_v128_store(dx + i, wasm_f32x4_mul(wasm_v128_load(dy + i), s0));
    wasm_v128_store(dx + i + 4, wasm_f32x4_mul(wasm_v128_load(dy + i + 4), s1));
    wasm_v128_store(dx + i + 8, wasm_f32x4_mul(wasm_v128_load(dy + i + 8), s2));
    wasm_v128_store(dx + i + 12, wasm_f32x4_mul(wasm_v128_load(dy + i + 12), s3));
  }
  for (; i + 4 <= n; i += 4) wasm_v128_store(dx + i, wasm_f32x4_mul(wasm_v128_load(dy + i), gelu_slope4(wasm_v128_load(x + i))));
  for (; i < n; i++) dx[i] = dy[i] * wasm_f32x4_extract_lane(gelu_slope4(wasm_f32x4_splat(x[i])), 0);
}

/* ---------------------------------------------------------------------------------------------------------- */
/* Column sums (the bias gradient of a dense layer): out[c] = sum_r x[r, c]                                    */

EXPORT(column_sum)
void column_sum(const float *x, float *out, int rows, int columns) {
  __builtin_memset(out, 0, sizeof(float) * columns);
  for (int r = 0; r < rows; r++) {
    const float *row = x + r * columns;
    int c = 0;
    for (; c + 4 <= columns; c += 4) wasm_v128_store(out + c, wasm_f32x4_add(wasm_v128_load(out + c), wasm_v128_load(row + c)));
    for (; c < columns; c++) out[c] += row[c];
  }
}
