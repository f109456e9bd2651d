// Native kernels beside the matrix products: the tfjs-cpu kernels that a profile of one GRPO step at
// SmolLM2-135M's shapes found slowest (bench/llama-step.ts --profile), and a fused log-softmax + pick of the
// taken token that never builds a (rows, vocab) log-probability tensor.
//
// Like gemm, every function works on the caller's typed arrays in place (tfjs-cpu's values, or views of the
// wasm heap) and checks every extent against the arrays' lengths before touching memory.
//
// Exports (see ../blas-addon.ts for the TypeScript side):
//   tokenLogProbs(logits, targets, temperature, logProbs, entropy|null, logSumExp)
//   tokenLogProbsGrad(logits, targets, temperature, logSumExp, entropy|null, dLogProbs, dEntropy|null, dLogits)
//   transpose(x, shape[], perm[], out)                      any rank <= 8, 4-byte elements
//   slice(x, shape[], begin[], size[], out)                 any rank <= 8, 4-byte elements
//   broadcastBinary(op, a, aShape[], b, bShape[], out, outShape[])   op 0 add, 1 sub, 2 mul, 3 div (float32)
//   candidateOrder(logits, offset, vocab, out)                 ids by logit descending, ties by smaller id
//   concatRows(parts[], rows, out)                            parts (rows, w_i) side by side -> out (rows, sum w_i)
//   unary(op, x, out)                                          op 0 neg, 1 square, 2 sigmoid (float32)
//   meanRows(x, rows, out)                                     out[r] = sum_j (x[r, j] / cols), tfjs-cpu's order
#include <node_api.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr int kMaxRank = 8;

bool Throw(napi_env env, const std::string& message) {
  napi_throw_range_error(env, "POSTTRAIN_KERNEL", message.c_str());
  return false;
}

// A typed array's data, length and element type; `kind` 'f' accepts Float32Array, 'i' Int32Array, '4' either.
bool Array(napi_env env, napi_value value, const char* what, char kind, void** data, size_t* length) {
  bool isTypedArray = false;
  napi_is_typedarray(env, value, &isTypedArray);
  napi_typedarray_type type = napi_float32_array;
  if (isTypedArray) napi_get_typedarray_info(env, value, &type, length, data, nullptr, nullptr);
  const bool ok = isTypedArray && ((kind == 'f' && type == napi_float32_array) || (kind == 'i' && type == napi_int32_array) ||
                                   (kind == '4' && (type == napi_float32_array || type == napi_int32_array || type == napi_uint32_array)));
  if (!ok) return Throw(env, std::string(what) + (kind == 'f' ? " must be a Float32Array" : kind == 'i' ? " must be an Int32Array" : " must be a 32-bit typed array"));
  return true;
}

bool IsNull(napi_env env, napi_value value) {
  napi_valuetype type;
  napi_typeof(env, value, &type);
  return type == napi_null || type == napi_undefined;
}

bool Number(napi_env env, napi_value value, const char* what, double* out) {
  if (napi_get_value_double(env, value, out) != napi_ok) return Throw(env, std::string(what) + " must be a number");
  return true;
}

// A JavaScript array of non-negative integers (a shape, a permutation, begins).
bool Ints(napi_env env, napi_value value, const char* what, std::vector<int64_t>* out) {
  bool isArray = false;
  napi_is_array(env, value, &isArray);
  if (!isArray) return Throw(env, std::string(what) + " must be an array of integers");
  uint32_t length = 0;
  napi_get_array_length(env, value, &length);
  if (length > kMaxRank) return Throw(env, std::string(what) + " has more than 8 dimensions");
  out->resize(length);
  for (uint32_t i = 0; i < length; i++) {
    napi_value item;
    int64_t number = -1;
    napi_get_element(env, value, i, &item);
    if (napi_get_value_int64(env, item, &number) != napi_ok || number < 0) return Throw(env, std::string(what) + " must hold non-negative integers");
    (*out)[i] = number;
  }
  return true;
}

int64_t Size(const std::vector<int64_t>& shape) {
  int64_t size = 1;
  for (int64_t extent : shape) size *= extent;
  return size;
}

std::vector<int64_t> Strides(const std::vector<int64_t>& shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (int i = static_cast<int>(shape.size()) - 2; i >= 0; i--) strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

bool Args(napi_env env, napi_callback_info info, size_t expected, napi_value* argv, const char* usage) {
  size_t argc = expected;
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc != expected) return Throw(env, std::string("expected ") + usage);
  return true;
}

// ---------------------------------------------------------------- log-softmax + pick of the taken token
//
// Per row r of z = logits[r] / T:  lse = log sum_j exp(z_j),  logProb = z[target] - lse,
// entropy H = -sum_j p_j log p_j = lse - sum_j p_j z_j  with p = softmax(z). Sums in double.

struct RowStats {
  double logSumExp;
  double expectedLogit;  // sum_j p_j z_j
};

RowStats Stats(const float* row, int64_t vocab, double inverseTemperature, bool wantExpectation) {
  double maximum = -INFINITY;
  for (int64_t j = 0; j < vocab; j++) maximum = std::fmax(maximum, row[j] * inverseTemperature);
  double total = 0, weighted = 0;
  for (int64_t j = 0; j < vocab; j++) {
    const double z = row[j] * inverseTemperature;
    const double e = std::exp(z - maximum);
    total += e;
    if (wantExpectation) weighted += e * z;
  }
  return {maximum + std::log(total), wantExpectation ? weighted / total : 0};
}

bool CheckRows(napi_env env, size_t logitsLength, size_t rows, int64_t* vocab) {
  if (rows == 0 || logitsLength % rows != 0) return Throw(env, "tokenLogProbs: logits must hold rows x vocab values, rows = targets.length > 0");
  *vocab = static_cast<int64_t>(logitsLength / rows);
  return true;
}

napi_value TokenLogProbs(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  if (!Args(env, info, 6, argv, "6 arguments (logits, targets, temperature, logProbs, entropy|null, logSumExp)")) return nullptr;
  void *logits, *targets, *logProbs, *entropy = nullptr, *logSumExp;
  size_t logitsLength, rows, logProbsLength, entropyLength = 0, logSumExpLength;
  double temperature;
  if (!Array(env, argv[0], "logits", 'f', &logits, &logitsLength) || !Array(env, argv[1], "targets", 'i', &targets, &rows) ||
      !Number(env, argv[2], "temperature", &temperature) || !Array(env, argv[3], "logProbs", 'f', &logProbs, &logProbsLength) ||
      (!IsNull(env, argv[4]) && !Array(env, argv[4], "entropy", 'f', &entropy, &entropyLength)) ||
      !Array(env, argv[5], "logSumExp", 'f', &logSumExp, &logSumExpLength)) {
    return nullptr;
  }
  int64_t vocab;
  if (!CheckRows(env, logitsLength, rows, &vocab)) return nullptr;
  if (logProbsLength != rows || logSumExpLength != rows || (entropy && entropyLength != rows) || !(temperature > 0)) {
    Throw(env, "tokenLogProbs: logProbs, logSumExp and entropy must hold one value per row; temperature must be > 0");
    return nullptr;
  }
  const double inverse = 1.0 / temperature;
  for (size_t r = 0; r < rows; r++) {
    const float* row = static_cast<const float*>(logits) + r * vocab;
    const int32_t target = static_cast<const int32_t*>(targets)[r];
    if (target < 0 || target >= vocab) {
      Throw(env, "tokenLogProbs: target id " + std::to_string(target) + " outside [0, " + std::to_string(vocab) + ")");
      return nullptr;
    }
    const RowStats stats = Stats(row, vocab, inverse, entropy != nullptr);
    static_cast<float*>(logProbs)[r] = static_cast<float>(row[target] * inverse - stats.logSumExp);
    static_cast<float*>(logSumExp)[r] = static_cast<float>(stats.logSumExp);
    if (entropy) static_cast<float*>(entropy)[r] = static_cast<float>(stats.logSumExp - stats.expectedLogit);
  }
  return nullptr;
}

// d/dz_j logProb = [j = target] - p_j;  d/dz_j H = -p_j (z_j - lse + H);  d logits = d z / T.
napi_value TokenLogProbsGrad(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  if (!Args(env, info, 8, argv, "8 arguments (logits, targets, temperature, logSumExp, entropy|null, dLogProbs, dEntropy|null, dLogits)")) return nullptr;
  void *logits, *targets, *logSumExp, *entropy = nullptr, *dLogProbs, *dEntropy = nullptr, *dLogits;
  size_t logitsLength, rows, logSumExpLength, entropyLength = 0, dLogProbsLength, dEntropyLength = 0, dLogitsLength;
  double temperature;
  if (!Array(env, argv[0], "logits", 'f', &logits, &logitsLength) || !Array(env, argv[1], "targets", 'i', &targets, &rows) ||
      !Number(env, argv[2], "temperature", &temperature) || !Array(env, argv[3], "logSumExp", 'f', &logSumExp, &logSumExpLength) ||
      (!IsNull(env, argv[4]) && !Array(env, argv[4], "entropy", 'f', &entropy, &entropyLength)) ||
      !Array(env, argv[5], "dLogProbs", 'f', &dLogProbs, &dLogProbsLength) ||
      (!IsNull(env, argv[6]) && !Array(env, argv[6], "dEntropy", 'f', &dEntropy, &dEntropyLength)) ||
      !Array(env, argv[7], "dLogits", 'f', &dLogits, &dLogitsLength)) {
    return nullptr;
  }
  int64_t vocab;
  if (!CheckRows(env, logitsLength, rows, &vocab)) return nullptr;
  if (logSumExpLength != rows || dLogProbsLength != rows || dLogitsLength != logitsLength || (dEntropy && (!entropy || entropyLength != rows || dEntropyLength != rows)) ||
      !(temperature > 0)) {
    Throw(env, "tokenLogProbsGrad: per-row arrays must hold one value per row, dLogits as many as logits, dEntropy needs entropy; temperature > 0");
    return nullptr;
  }
  const double inverse = 1.0 / temperature;
  for (size_t r = 0; r < rows; r++) {
    const float* row = static_cast<const float*>(logits) + r * vocab;
    float* out = static_cast<float*>(dLogits) + r * vocab;
    const int32_t target = static_cast<const int32_t*>(targets)[r];
    if (target < 0 || target >= vocab) {
      Throw(env, "tokenLogProbsGrad: target id " + std::to_string(target) + " outside [0, " + std::to_string(vocab) + ")");
      return nullptr;
    }
    const double lse = static_cast<const float*>(logSumExp)[r];
    const double gradLogProb = static_cast<const float*>(dLogProbs)[r];
    const double gradEntropy = dEntropy ? static_cast<const float*>(dEntropy)[r] : 0;
    const double rowEntropy = entropy ? static_cast<const float*>(entropy)[r] : 0;
    for (int64_t j = 0; j < vocab; j++) {
      const double logP = row[j] * inverse - lse;
      const double p = std::exp(logP);
      double g = -gradLogProb * p;
      if (gradEntropy != 0) g -= gradEntropy * p * (logP + rowEntropy);
      out[j] = static_cast<float>(g * inverse);
    }
    out[target] += static_cast<float>(gradLogProb * inverse);
  }
  return nullptr;
}

// ---------------------------------------------------------------- strided copies (transpose, slice)
//
// out[o_0..o_{n-1}] = in[sum_k o_k * inStride_k + base], walking the output in row-major order. The last two
// output dimensions are walked in 32 x 32 tiles so that a transpose that swaps them reads and writes whole
// cache lines; the outer dimensions run an odometer.

void StridedCopy(const uint32_t* in, uint32_t* out, const std::vector<int64_t>& outShape, const std::vector<int64_t>& inStrides, int64_t base) {
  const int rank = static_cast<int>(outShape.size());
  if (rank == 0) {
    out[0] = in[base];
    return;
  }
  const int64_t cols = outShape[rank - 1];
  const int64_t colStride = inStrides[rank - 1];
  const int64_t rows = rank >= 2 ? outShape[rank - 2] : 1;
  const int64_t rowStride = rank >= 2 ? inStrides[rank - 2] : 0;
  const int outer = rank >= 2 ? rank - 2 : 0;
  int64_t outerCount = 1;
  for (int k = 0; k < outer; k++) outerCount *= outShape[k];
  std::vector<int64_t> index(outer, 0);
  int64_t offset = base;
  const int64_t tile = 32;
  for (int64_t block = 0; block < outerCount; block++) {
    uint32_t* target = out + block * rows * cols;
    if (colStride == 1) {
      for (int64_t i = 0; i < rows; i++) std::memcpy(target + i * cols, in + offset + i * rowStride, sizeof(uint32_t) * cols);
    } else {
      for (int64_t i0 = 0; i0 < rows; i0 += tile) {
        const int64_t i1 = i0 + tile < rows ? i0 + tile : rows;
        for (int64_t j0 = 0; j0 < cols; j0 += tile) {
          const int64_t j1 = j0 + tile < cols ? j0 + tile : cols;
          for (int64_t i = i0; i < i1; i++) {
            const uint32_t* source = in + offset + i * rowStride;
            uint32_t* row = target + i * cols;
            for (int64_t j = j0; j < j1; j++) row[j] = source[j * colStride];
          }
        }
      }
    }
    for (int k = outer - 1; k >= 0; k--) {  // odometer over the outer output dimensions
      offset += inStrides[k];
      if (++index[k] < outShape[k]) break;
      offset -= inStrides[k] * outShape[k];
      index[k] = 0;
    }
  }
}

napi_value Transpose(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!Args(env, info, 4, argv, "4 arguments (x, shape, perm, out)")) return nullptr;
  void *in, *out;
  size_t inLength, outLength;
  std::vector<int64_t> shape, perm;
  if (!Array(env, argv[0], "x", '4', &in, &inLength) || !Ints(env, argv[1], "shape", &shape) || !Ints(env, argv[2], "perm", &perm) ||
      !Array(env, argv[3], "out", '4', &out, &outLength)) {
    return nullptr;
  }
  const int rank = static_cast<int>(shape.size());
  std::vector<bool> seen(rank, false);
  bool valid = static_cast<int>(perm.size()) == rank;
  for (int k = 0; valid && k < rank; k++) valid = perm[k] < rank && !seen[perm[k]] && (seen[perm[k]] = true);
  if (!valid || static_cast<int64_t>(inLength) != Size(shape) || outLength != inLength) {
    Throw(env, "transpose: perm must be a permutation of the shape's axes, and x and out must hold the shape's size");
    return nullptr;
  }
  if (inLength == 0) return nullptr;
  const std::vector<int64_t> strides = Strides(shape);
  std::vector<int64_t> outShape(rank), inStrides(rank);
  for (int k = 0; k < rank; k++) {
    outShape[k] = shape[perm[k]];
    inStrides[k] = strides[perm[k]];
  }
  StridedCopy(static_cast<const uint32_t*>(in), static_cast<uint32_t*>(out), outShape, inStrides, 0);
  return nullptr;
}

napi_value Slice(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!Args(env, info, 5, argv, "5 arguments (x, shape, begin, size, out)")) return nullptr;
  void *in, *out;
  size_t inLength, outLength;
  std::vector<int64_t> shape, begin, size;
  if (!Array(env, argv[0], "x", '4', &in, &inLength) || !Ints(env, argv[1], "shape", &shape) || !Ints(env, argv[2], "begin", &begin) ||
      !Ints(env, argv[3], "size", &size) || !Array(env, argv[4], "out", '4', &out, &outLength)) {
    return nullptr;
  }
  const size_t rank = shape.size();
  bool valid = begin.size() == rank && size.size() == rank && static_cast<int64_t>(inLength) == Size(shape) && static_cast<int64_t>(outLength) == Size(size);
  for (size_t k = 0; valid && k < rank; k++) valid = begin[k] + size[k] <= shape[k];
  if (!valid) {
    Throw(env, "slice: begin + size must lie inside the shape, x must hold the shape's size and out the slice's");
    return nullptr;
  }
  if (outLength == 0) return nullptr;
  const std::vector<int64_t> strides = Strides(shape);
  int64_t base = 0;
  for (size_t k = 0; k < rank; k++) base += begin[k] * strides[k];
  StridedCopy(static_cast<const uint32_t*>(in), static_cast<uint32_t*>(out), size, strides, base);
  return nullptr;
}

// ---------------------------------------------------------------- broadcasting binary arithmetic (float32)
//
// numpy broadcasting: shapes are right-aligned, a dimension of 1 repeats. Each operand gets a stride of 0 on
// the dimensions it repeats; the innermost output dimension is one loop with the two strides.

template <typename Op>
void Broadcast(const float* a, const float* b, float* out, const std::vector<int64_t>& shape, const std::vector<int64_t>& aStrides,
               const std::vector<int64_t>& bStrides, Op op) {
  const int rank = static_cast<int>(shape.size());
  const int64_t inner = rank ? shape[rank - 1] : 1;
  const int64_t aInner = rank ? aStrides[rank - 1] : 0;
  const int64_t bInner = rank ? bStrides[rank - 1] : 0;
  int64_t outerCount = 1;
  for (int k = 0; k < rank - 1; k++) outerCount *= shape[k];
  std::vector<int64_t> index(rank > 1 ? rank - 1 : 0, 0);
  int64_t aOffset = 0, bOffset = 0;
  for (int64_t block = 0; block < outerCount; block++) {
    float* target = out + block * inner;
    const float* x = a + aOffset;
    const float* y = b + bOffset;
    if (aInner == 1 && bInner == 1) {
      for (int64_t j = 0; j < inner; j++) target[j] = op(x[j], y[j]);
    } else if (aInner == 1 && bInner == 0) {
      const float value = y[0];
      for (int64_t j = 0; j < inner; j++) target[j] = op(x[j], value);
    } else if (aInner == 0 && bInner == 1) {
      const float value = x[0];
      for (int64_t j = 0; j < inner; j++) target[j] = op(value, y[j]);
    } else {
      for (int64_t j = 0; j < inner; j++) target[j] = op(x[j * aInner], y[j * bInner]);
    }
    for (int k = rank - 2; k >= 0; k--) {
      aOffset += aStrides[k];
      bOffset += bStrides[k];
      if (++index[k] < shape[k]) break;
      aOffset -= aStrides[k] * shape[k];
      bOffset -= bStrides[k] * shape[k];
      index[k] = 0;
    }
  }
}

// Strides of `shape` read as `outShape` (right-aligned), 0 on repeated dimensions; false if not broadcastable.
bool BroadcastStrides(const std::vector<int64_t>& shape, const std::vector<int64_t>& outShape, std::vector<int64_t>* strides) {
  const int rank = static_cast<int>(outShape.size());
  const int offset = rank - static_cast<int>(shape.size());
  if (offset < 0) return false;
  const std::vector<int64_t> own = Strides(shape);
  strides->assign(rank, 0);
  for (int k = 0; k < static_cast<int>(shape.size()); k++) {
    if (shape[k] == outShape[offset + k]) (*strides)[offset + k] = shape[k] == 1 ? 0 : own[k];
    else if (shape[k] != 1) return false;
  }
  return true;
}

napi_value BroadcastBinary(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  if (!Args(env, info, 7, argv, "7 arguments (op, a, aShape, b, bShape, out, outShape)")) return nullptr;
  double op;
  void *a, *b, *out;
  size_t aLength, bLength, outLength;
  std::vector<int64_t> aShape, bShape, outShape, aStrides, bStrides;
  if (!Number(env, argv[0], "op", &op) || !Array(env, argv[1], "a", 'f', &a, &aLength) || !Ints(env, argv[2], "aShape", &aShape) ||
      !Array(env, argv[3], "b", 'f', &b, &bLength) || !Ints(env, argv[4], "bShape", &bShape) || !Array(env, argv[5], "out", 'f', &out, &outLength) ||
      !Ints(env, argv[6], "outShape", &outShape)) {
    return nullptr;
  }
  if (static_cast<int64_t>(aLength) != Size(aShape) || static_cast<int64_t>(bLength) != Size(bShape) || static_cast<int64_t>(outLength) != Size(outShape) ||
      !BroadcastStrides(aShape, outShape, &aStrides) || !BroadcastStrides(bShape, outShape, &bStrides) || op < 0 || op > 3) {
    Throw(env, "broadcastBinary: a and b must broadcast to outShape, each array must hold its shape's size, op must be 0..3");
    return nullptr;
  }
  if (outLength == 0) return nullptr;
  const float* x = static_cast<const float*>(a);
  const float* y = static_cast<const float*>(b);
  float* z = static_cast<float*>(out);
  switch (static_cast<int>(op)) {
    case 0: Broadcast(x, y, z, outShape, aStrides, bStrides, [](float p, float q) { return p + q; }); break;
    case 1: Broadcast(x, y, z, outShape, aStrides, bStrides, [](float p, float q) { return p - q; }); break;
    case 2: Broadcast(x, y, z, outShape, aStrides, bStrides, [](float p, float q) { return p * q; }); break;
    default: Broadcast(x, y, z, outShape, aStrides, bStrides, [](float p, float q) { return p / q; }); break;
  }
  return nullptr;
}

// ---------------------------------------------------------------- concatenation
//
// tfjs-cpu reduces any concat to 2-D pieces (rows, w_i) laid side by side, then copies element by element.

napi_value ConcatRows(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!Args(env, info, 3, argv, "3 arguments (parts, rows, out)")) return nullptr;
  bool isArray = false;
  napi_is_array(env, argv[0], &isArray);
  double rowsNumber;
  void* out;
  size_t outLength;
  if (!isArray) {
    Throw(env, "concatRows: parts must be an array of typed arrays");
    return nullptr;
  }
  if (!Number(env, argv[1], "rows", &rowsNumber) || !Array(env, argv[2], "out", '4', &out, &outLength)) return nullptr;
  const size_t rows = static_cast<size_t>(rowsNumber);
  uint32_t count = 0;
  napi_get_array_length(env, argv[0], &count);
  std::vector<const uint32_t*> data(count);
  std::vector<size_t> widths(count);
  size_t total = 0;
  for (uint32_t i = 0; i < count; i++) {
    napi_value part;
    napi_get_element(env, argv[0], i, &part);
    void* values;
    size_t length;
    if (!Array(env, part, "concatRows: each part", '4', &values, &length)) return nullptr;
    if (rows == 0 || length % rows != 0) {
      Throw(env, "concatRows: each part must hold rows x width values");
      return nullptr;
    }
    data[i] = static_cast<const uint32_t*>(values);
    widths[i] = length / rows;
    total += widths[i];
  }
  if (total * rows != outLength) {
    Throw(env, "concatRows: out must hold rows x (sum of the parts' widths) values");
    return nullptr;
  }
  uint32_t* target = static_cast<uint32_t*>(out);
  for (size_t r = 0; r < rows; r++) {
    for (uint32_t i = 0; i < count; i++) {
      std::memcpy(target, data[i] + r * widths[i], sizeof(uint32_t) * widths[i]);
      target += widths[i];
    }
  }
  return nullptr;
}

// ---------------------------------------------------------------- element-wise and row reductions (float32)
//
// The arithmetic is tfjs-cpu's: JavaScript computes in double and stores float32, so do we (sigmoid's exp is
// libm's instead of V8's: equal to within an ulp of the double result before rounding to float32).

napi_value Unary(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!Args(env, info, 3, argv, "3 arguments (op, x, out)")) return nullptr;
  double op;
  void *x, *out;
  size_t xLength, outLength;
  if (!Number(env, argv[0], "op", &op) || !Array(env, argv[1], "x", 'f', &x, &xLength) || !Array(env, argv[2], "out", 'f', &out, &outLength)) return nullptr;
  if (xLength != outLength || op < 0 || op > 2) {
    Throw(env, "unary: x and out must have the same length, op must be 0..2");
    return nullptr;
  }
  const float* in = static_cast<const float*>(x);
  float* target = static_cast<float*>(out);
  switch (static_cast<int>(op)) {
    case 0: for (size_t i = 0; i < xLength; i++) target[i] = -in[i]; break;
    case 1: for (size_t i = 0; i < xLength; i++) target[i] = static_cast<float>(static_cast<double>(in[i]) * in[i]); break;
    default: for (size_t i = 0; i < xLength; i++) target[i] = static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(in[i])))); break;
  }
  return nullptr;
}

// tfjs-cpu's Mean divides every element by the count (rounded to float32), then sums each row in double.
napi_value MeanRows(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!Args(env, info, 3, argv, "3 arguments (x, rows, out)")) return nullptr;
  void *x, *out;
  size_t xLength, outLength;
  double rowsNumber;
  if (!Array(env, argv[0], "x", 'f', &x, &xLength) || !Number(env, argv[1], "rows", &rowsNumber) || !Array(env, argv[2], "out", 'f', &out, &outLength)) return nullptr;
  const size_t rows = static_cast<size_t>(rowsNumber);
  if (rows == 0 || outLength != rows || xLength % rows != 0 || xLength == 0) {
    Throw(env, "meanRows: x must hold rows x cols values (cols > 0) and out one per row");
    return nullptr;
  }
  const size_t cols = xLength / rows;
  const float count = static_cast<float>(cols);
  const float* in = static_cast<const float*>(x);
  for (size_t r = 0; r < rows; r++) {
    double sum = 0;
    for (size_t j = 0; j < cols; j++) sum += static_cast<float>(static_cast<double>(in[r * cols + j]) / count);
    static_cast<float*>(out)[r] = static_cast<float>(sum);
  }
  return nullptr;
}

// ---------------------------------------------------------------- sampling order
//
// The first out.length ids of logits[offset .. offset + vocab) by logit, descending, ties by the smaller id:
// exactly the order of rollout/sampling.ts `candidateOrder` (same keys: the logit's bits made order-preserving
// and inverted, then the id), sorted with std::sort / std::partial_sort instead of a JavaScript key loop and a
// typed-array sort (55 ms per 49k-token row under load, every row of every generation step).

napi_value CandidateOrder(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!Args(env, info, 4, argv, "4 arguments (logits, offset, vocab, out)")) return nullptr;
  void *logits, *out;
  size_t logitsLength, outLength;
  double offsetNumber, vocabNumber;
  if (!Array(env, argv[0], "logits", 'f', &logits, &logitsLength) || !Number(env, argv[1], "offset", &offsetNumber) ||
      !Number(env, argv[2], "vocab", &vocabNumber) || !Array(env, argv[3], "out", 'i', &out, &outLength)) {
    return nullptr;
  }
  const int64_t offset = static_cast<int64_t>(offsetNumber), vocab = static_cast<int64_t>(vocabNumber);
  if (offset < 0 || vocab < 1 || vocab > (1 << 21) || offset + vocab > static_cast<int64_t>(logitsLength) || static_cast<int64_t>(outLength) > vocab ||
      outLength == 0) {
    Throw(env, "candidateOrder: offset + vocab must lie inside logits, vocab <= 2^21, 0 < out.length <= vocab");
    return nullptr;
  }
  const float* row = static_cast<const float*>(logits) + offset;
  std::vector<uint64_t> keys(vocab);
  for (int64_t i = 0; i < vocab; i++) {
    const float value = row[i] + 0.0f;  // -0 and 0 are equal logits
    uint32_t raw;
    std::memcpy(&raw, &value, sizeof(raw));
    const uint32_t ascending = (raw & 0x80000000u) ? ~raw : (raw | 0x80000000u);  // larger float, larger key
    keys[i] = (static_cast<uint64_t>(0xffffffffu - ascending) << 21) | static_cast<uint64_t>(i);
  }
  const auto end = keys.begin() + static_cast<int64_t>(outLength);
  if (static_cast<int64_t>(outLength) < vocab) std::partial_sort(keys.begin(), end, keys.end());
  else std::sort(keys.begin(), keys.end());
  int32_t* ids = static_cast<int32_t*>(out);
  for (size_t i = 0; i < outLength; i++) ids[i] = static_cast<int32_t>(keys[i] & ((1u << 21) - 1));
  return nullptr;
}

}  // namespace

// Called from blas_binding.cc's Init: adds these functions to the addon's exports.
void DefineTensorKernels(napi_env env, napi_value exports) {
  const napi_property_descriptor properties[] = {
      {"tokenLogProbs", nullptr, TokenLogProbs, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"tokenLogProbsGrad", nullptr, TokenLogProbsGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"transpose", nullptr, Transpose, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"slice", nullptr, Slice, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"broadcastBinary", nullptr, BroadcastBinary, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"candidateOrder", nullptr, CandidateOrder, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"concatRows", nullptr, ConcatRows, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"unary", nullptr, Unary, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"meanRows", nullptr, MeanRows, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(properties) / sizeof(properties[0]), properties);
}
