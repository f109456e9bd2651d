// posttrain_blas: single-precision matrix products on OpenBLAS, run directly on the caller's memory.
//
// The engine's tensors are Float32Arrays: views of the WebAssembly heap on the wasm backend (a possibly shared
// ArrayBuffer that never moves while a kernel runs), plain typed arrays on the cpu backend. N-API hands us the
// address behind each view, so OpenBLAS reads the operands and writes the product where tfjs keeps them: no copy
// in, no copy out. Every extent is checked against the views' lengths before OpenBLAS touches memory.
//
// Exports (see ../blas-addon.ts for the TypeScript side):
//   gemm(a, b, c, bias|null, batch, m, n, k, transposeA, transposeB, strideA, strideB)
//       for i < batch: C_i (m x n) = op(A_i) op(B_i) (+ bias row), row-major; A_i = a[i*strideA ...], same for B;
//       C_i = c[i*m*n ...]. op(A) is (m x k), op(B) is (k x n). A stride of 0 broadcasts one operand.
//   setThreads(n), info() -> { config, corename, parallel, threads }
// and the kernels of tensor_kernels.cc (fused token log-probs, transpose, slice, broadcasting arithmetic).
#include <cblas.h>
#include <node_api.h>

#include <cstdint>
#include <cstring>
#include <string>

void DefineTensorKernels(napi_env env, napi_value exports);  // tensor_kernels.cc

namespace {

bool Check(napi_env env, napi_status status, const char* what) {
  if (status == napi_ok) return true;
  napi_throw_error(env, "POSTTRAIN_BLAS", what);
  return false;
}

bool Fail(napi_env env, const std::string& message) {
  napi_throw_range_error(env, "POSTTRAIN_BLAS", message.c_str());
  return false;
}

// The float32 elements behind a Float32Array view (its byte offset included).
bool Floats(napi_env env, napi_value value, const char* name, float** data, size_t* length) {
  bool isTypedArray = false;
  if (!Check(env, napi_is_typedarray(env, value, &isTypedArray), "napi_is_typedarray failed")) return false;
  if (!isTypedArray) return Fail(env, std::string("gemm: ") + name + " must be a Float32Array");
  napi_typedarray_type type;
  void* raw = nullptr;
  if (!Check(env, napi_get_typedarray_info(env, value, &type, length, &raw, nullptr, nullptr), "napi_get_typedarray_info failed")) {
    return false;
  }
  if (type != napi_float32_array) return Fail(env, std::string("gemm: ") + name + " must be a Float32Array");
  *data = static_cast<float*>(raw);
  return true;
}

bool Int(napi_env env, napi_value value, const char* name, int64_t* out) {
  if (napi_get_value_int64(env, value, out) != napi_ok) return Fail(env, std::string("gemm: ") + name + " must be a number");
  return true;
}

bool Flag(napi_env env, napi_value value, const char* name, bool* out) {
  if (napi_get_value_bool(env, value, out) != napi_ok) return Fail(env, std::string("gemm: ") + name + " must be a boolean");
  return true;
}

// Elements a batch of `batch` matrices of `size` elements each, `stride` apart, spans.
int64_t Span(int64_t batch, int64_t stride, int64_t size) { return (batch - 1) * stride + size; }

napi_value Gemm(napi_env env, napi_callback_info info) {
  size_t argc = 12;
  napi_value argv[12];
  if (!Check(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr), "napi_get_cb_info failed")) return nullptr;
  if (argc != 12) {
    Fail(env, "gemm: expected 12 arguments (a, b, c, bias, batch, m, n, k, transposeA, transposeB, strideA, strideB)");
    return nullptr;
  }
  float *a, *b, *c, *bias = nullptr;
  size_t aLength, bLength, cLength, biasLength = 0;
  if (!Floats(env, argv[0], "a", &a, &aLength) || !Floats(env, argv[1], "b", &b, &bLength) || !Floats(env, argv[2], "c", &c, &cLength)) {
    return nullptr;
  }
  napi_valuetype biasType;
  if (!Check(env, napi_typeof(env, argv[3], &biasType), "napi_typeof failed")) return nullptr;
  if (biasType != napi_null && biasType != napi_undefined && !Floats(env, argv[3], "bias", &bias, &biasLength)) return nullptr;
  int64_t batch, m, n, k, strideA, strideB;
  bool transposeA, transposeB;
  if (!Int(env, argv[4], "batch", &batch) || !Int(env, argv[5], "m", &m) || !Int(env, argv[6], "n", &n) || !Int(env, argv[7], "k", &k) ||
      !Flag(env, argv[8], "transposeA", &transposeA) || !Flag(env, argv[9], "transposeB", &transposeB) ||
      !Int(env, argv[10], "strideA", &strideA) || !Int(env, argv[11], "strideB", &strideB)) {
    return nullptr;
  }
  const int64_t limit = INT32_MAX;
  if (batch < 1 || m < 0 || n < 0 || k < 0 || m > limit || n > limit || k > limit || strideA < 0 || strideB < 0) {
    Fail(env, "gemm: batch must be >= 1 and m, n, k, strides non-negative 32-bit integers");
    return nullptr;
  }
  if (Span(batch, strideA, m * k) > static_cast<int64_t>(aLength) || Span(batch, strideB, k * n) > static_cast<int64_t>(bLength) ||
      batch * m * n > static_cast<int64_t>(cLength)) {
    Fail(env, "gemm: an operand is shorter than batch, m, n, k and the strides say");
    return nullptr;
  }
  if (bias != nullptr && static_cast<int64_t>(biasLength) != n) {
    Fail(env, "gemm: bias must hold n elements");
    return nullptr;
  }
  // Row-major op(A) is (m x k): stored (m x k) with leading dimension k, or (k x m) with leading dimension m.
  const int lda = static_cast<int>(transposeA ? m : k);
  const int ldb = static_cast<int>(transposeB ? k : n);
  const int ldc = static_cast<int>(n);
  const float beta = bias != nullptr ? 1.0f : 0.0f;
  for (int64_t i = 0; i < batch; i++) {
    float* out = c + i * m * n;
    if (bias != nullptr) {
      for (int64_t row = 0; row < m; row++) std::memcpy(out + row * n, bias, sizeof(float) * n);
    }
    if (k == 0) {
      if (bias == nullptr) std::memset(out, 0, sizeof(float) * m * n);
      continue;
    }
    if (m == 0 || n == 0) continue;
    cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans, static_cast<int>(m),
                static_cast<int>(n), static_cast<int>(k), 1.0f, a + i * strideA, lda, b + i * strideB, ldb, beta, out, ldc);
  }
  return nullptr;
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (!Check(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr), "napi_get_cb_info failed")) return nullptr;
  int32_t threads = 0;
  if (argc != 1 || napi_get_value_int32(env, argv[0], &threads) != napi_ok || threads < 1) {
    Fail(env, "setThreads: expected a positive integer");
    return nullptr;
  }
  openblas_set_num_threads(threads);
  return nullptr;
}

bool SetString(napi_env env, napi_value object, const char* key, const char* text) {
  napi_value value;
  return napi_create_string_utf8(env, text != nullptr ? text : "", NAPI_AUTO_LENGTH, &value) == napi_ok &&
         napi_set_named_property(env, object, key, value) == napi_ok;
}

bool SetInt(napi_env env, napi_value object, const char* key, int number) {
  napi_value value;
  return napi_create_int32(env, number, &value) == napi_ok && napi_set_named_property(env, object, key, value) == napi_ok;
}

napi_value Info(napi_env env, napi_callback_info) {
  napi_value object;
  if (!Check(env, napi_create_object(env, &object), "napi_create_object failed")) return nullptr;
  const int parallel = openblas_get_parallel();  // 0 sequential, 1 pthreads, 2 OpenMP
  const bool ok = SetString(env, object, "config", openblas_get_config()) && SetString(env, object, "corename", openblas_get_corename()) &&
                  SetString(env, object, "parallel", parallel == 0 ? "sequential" : parallel == 1 ? "pthread" : "openmp") &&
                  SetInt(env, object, "threads", openblas_get_num_threads());
  if (!Check(env, ok ? napi_ok : napi_generic_failure, "info: building the result failed")) return nullptr;
  return object;
}

napi_value Init(napi_env env, napi_value exports) {
  const napi_property_descriptor properties[] = {
      {"gemm", nullptr, Gemm, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(properties) / sizeof(properties[0]), properties);
  DefineTensorKernels(env, exports);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
