// NCCL bridge for posttrain's `nccl` collective backend (runtime/collectives/nccl/nccl-communicator.ts).
//
// STATUS: built (build.sh, no warnings) and run once on an H100 with CUDA 13.0 and NCCL 2.28.9, one rank:
// `npm run bench -- nccl` checks every collective, destroy and the formation timeout. Several ranks (one per GPU)
// have never run, and CI has no GPU.
//
// Buffers are host Float32Arrays: each collective copies its input to the GPU, runs the NCCL call on this
// communicator's stream, and copies the result back. Everything that can block (init, the collective) runs on a
// libuv worker thread, polling so that `abort` (ncclCommAbort) can end a collective stuck on a missing peer.
#include <node_api.h>
#include <nccl.h>
#include <cuda_runtime.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>

namespace {

struct Communicator {
  ncclComm_t comm = nullptr;
  cudaStream_t stream = nullptr;
  int device = 0;
  void* deviceMemory = nullptr;
  size_t deviceBytes = 0;
  std::atomic<bool> abortRequested{false};
  bool aborted = false;
  bool released = false;
};

// Free the communicator's NCCL and CUDA resources once (from destroy() or, failing that, the garbage collector).
void Release(Communicator* self) {
  if (self->released) return;
  self->released = true;
  if (self->comm != nullptr) {
    if (self->aborted || self->abortRequested.load()) {
      if (!self->aborted) ncclCommAbort(self->comm);
    } else {
      ncclCommDestroy(self->comm);
    }
  }
  if (self->deviceMemory != nullptr) cudaFree(self->deviceMemory);
  if (self->stream != nullptr) cudaStreamDestroy(self->stream);
}

#define NAPI_CALL(env, call)                                        \
  do {                                                              \
    if ((call) != napi_ok) {                                        \
      napi_throw_error((env), nullptr, "N-API call failed: " #call); \
      return nullptr;                                               \
    }                                                               \
  } while (0)

std::string NcclMessage(const char* what, ncclResult_t result) {
  return std::string(what) + ": " + ncclGetErrorString(result);
}

std::string CudaMessage(const char* what, cudaError_t result) {
  return std::string(what) + ": " + cudaGetErrorString(result);
}

// Wait until the communicator's pending work finishes, fails, times out or is aborted. Returns "" on success.
std::string WaitForCommunicator(Communicator* self, bool waitForStream, double timeoutMs) {
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    ncclResult_t asyncError = ncclSuccess;
    ncclCommGetAsyncError(self->comm, &asyncError);
    if (asyncError != ncclSuccess && asyncError != ncclInProgress) return NcclMessage("NCCL", asyncError);
    bool done = asyncError == ncclSuccess;
    if (done && waitForStream) {
      cudaError_t query = cudaStreamQuery(self->stream);
      if (query != cudaSuccess && query != cudaErrorNotReady) return CudaMessage("CUDA stream", query);
      done = query == cudaSuccess;
    }
    if (done) return "";
    const double elapsed = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (self->abortRequested.load() || (timeoutMs > 0 && elapsed > timeoutMs)) {
      ncclCommAbort(self->comm);
      self->aborted = true;
      return self->abortRequested.load() ? "aborted" : "timed out";
    }
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

// ---- getUniqueId() -> Buffer(128) -------------------------------------------------------------------------------

napi_value GetUniqueId(napi_env env, napi_callback_info) {
  ncclUniqueId id;
  ncclResult_t result = ncclGetUniqueId(&id);
  if (result != ncclSuccess) {
    napi_throw_error(env, "COLLECTIVE_BACKEND_UNAVAILABLE", NcclMessage("ncclGetUniqueId", result).c_str());
    return nullptr;
  }
  napi_value buffer;
  void* data;
  NAPI_CALL(env, napi_create_buffer_copy(env, sizeof(id), &id, &data, &buffer));
  return buffer;
}

// ---- initRank(uniqueId, worldSize, rank, device, timeoutMs) -> Promise<handle> ------------------------------------

struct InitWork {
  napi_async_work work = nullptr;
  napi_deferred deferred = nullptr;
  ncclUniqueId id;
  int worldSize = 0;
  int rank = 0;
  int device = 0;
  double timeoutMs = 0;
  Communicator* self = nullptr;
  std::string error;
};

void InitExecute(napi_env, void* data) {
  auto* work = static_cast<InitWork*>(data);
  auto* self = new Communicator();
  self->device = work->device;
  cudaError_t cuda = cudaSetDevice(work->device);
  if (cuda != cudaSuccess) {
    work->error = CudaMessage("cudaSetDevice", cuda);
    delete self;
    return;
  }
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;  // non-blocking init, so that a missing rank ends in a timeout instead of a hang
  ncclResult_t result = ncclCommInitRankConfig(&self->comm, work->worldSize, work->id, work->rank, &config);
  if (result != ncclSuccess && result != ncclInProgress) {
    work->error = NcclMessage("ncclCommInitRankConfig", result);
    delete self;
    return;
  }
  work->error = WaitForCommunicator(self, false, work->timeoutMs);
  if (work->error.empty()) {
    cuda = cudaStreamCreateWithFlags(&self->stream, cudaStreamNonBlocking);
    if (cuda != cudaSuccess) work->error = CudaMessage("cudaStreamCreate", cuda);
  }
  if (!work->error.empty()) {
    if (!self->aborted) ncclCommAbort(self->comm);
    delete self;
    return;
  }
  work->self = self;
}

void Finalize(napi_env, void* data, void*) {
  auto* self = static_cast<Communicator*>(data);
  Release(self);
  delete self;
}

void InitComplete(napi_env env, napi_status, void* data) {
  auto* work = static_cast<InitWork*>(data);
  if (work->error.empty()) {
    napi_value handle;
    napi_create_external(env, work->self, Finalize, nullptr, &handle);
    napi_resolve_deferred(env, work->deferred, handle);
  } else {
    napi_value message, error;
    napi_create_string_utf8(env, work->error.c_str(), NAPI_AUTO_LENGTH, &message);
    napi_create_error(env, nullptr, message, &error);
    napi_reject_deferred(env, work->deferred, error);
  }
  napi_delete_async_work(env, work->work);
  delete work;
}

napi_value InitRank(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  auto* work = new InitWork();
  void* idData;
  size_t idLength;
  NAPI_CALL(env, napi_get_buffer_info(env, argv[0], &idData, &idLength));
  if (idLength != sizeof(ncclUniqueId)) {
    delete work;
    napi_throw_range_error(env, nullptr, "uniqueId must be 128 bytes (ncclUniqueId)");
    return nullptr;
  }
  std::memcpy(&work->id, idData, sizeof(ncclUniqueId));
  NAPI_CALL(env, napi_get_value_int32(env, argv[1], &work->worldSize));
  NAPI_CALL(env, napi_get_value_int32(env, argv[2], &work->rank));
  NAPI_CALL(env, napi_get_value_int32(env, argv[3], &work->device));
  NAPI_CALL(env, napi_get_value_double(env, argv[4], &work->timeoutMs));
  napi_value promise, name;
  NAPI_CALL(env, napi_create_promise(env, &work->deferred, &promise));
  NAPI_CALL(env, napi_create_string_utf8(env, "posttrain_nccl_init", NAPI_AUTO_LENGTH, &name));
  NAPI_CALL(env, napi_create_async_work(env, nullptr, name, InitExecute, InitComplete, work, &work->work));
  NAPI_CALL(env, napi_queue_async_work(env, work->work));
  return promise;
}

// ---- collective(handle, kind, input, output, op, root, timeoutMs) -> Promise<void> ---------------------------------

struct CollectiveWork {
  napi_async_work work = nullptr;
  napi_deferred deferred = nullptr;
  napi_ref inputRef = nullptr;
  napi_ref outputRef = nullptr;
  Communicator* self = nullptr;
  std::string kind;
  ncclRedOp_t op = ncclSum;
  int root = 0;
  float* input = nullptr;
  size_t inputCount = 0;
  float* output = nullptr;
  size_t outputCount = 0;
  double timeoutMs = 0;
  std::string error;
};

void CollectiveExecute(napi_env, void* data) {
  auto* work = static_cast<CollectiveWork*>(data);
  Communicator* self = work->self;
  cudaSetDevice(self->device);
  const size_t inputBytes = work->inputCount * sizeof(float);
  const size_t outputBytes = work->outputCount * sizeof(float);
  if (inputBytes + outputBytes > self->deviceBytes) {
    if (self->deviceMemory != nullptr) cudaFree(self->deviceMemory);
    self->deviceMemory = nullptr;
    self->deviceBytes = 0;
    cudaError_t cuda = cudaMalloc(&self->deviceMemory, inputBytes + outputBytes);
    if (cuda != cudaSuccess) {
      work->error = CudaMessage("cudaMalloc", cuda);
      return;
    }
    self->deviceBytes = inputBytes + outputBytes;
  }
  float* deviceInput = static_cast<float*>(self->deviceMemory);
  float* deviceOutput = deviceInput + work->inputCount;
  cudaMemcpyAsync(deviceInput, work->input, inputBytes, cudaMemcpyHostToDevice, self->stream);
  ncclResult_t result = ncclSuccess;
  if (work->kind == "allreduce") {
    result = ncclAllReduce(deviceInput, deviceInput, work->inputCount, ncclFloat32, work->op, self->comm, self->stream);
    deviceOutput = deviceInput;
  } else if (work->kind == "broadcast") {
    result = ncclBroadcast(deviceInput, deviceInput, work->inputCount, ncclFloat32, work->root, self->comm, self->stream);
    deviceOutput = deviceInput;
  } else if (work->kind == "allgather") {
    result = ncclAllGather(deviceInput, deviceOutput, work->inputCount, ncclFloat32, self->comm, self->stream);
  } else if (work->kind == "reduceScatter") {
    result = ncclReduceScatter(deviceInput, deviceOutput, work->outputCount, ncclFloat32, work->op, self->comm, self->stream);
  }
  if (result != ncclSuccess && result != ncclInProgress) {
    work->error = NcclMessage(work->kind.c_str(), result);
    return;
  }
  cudaMemcpyAsync(work->output, deviceOutput, outputBytes, cudaMemcpyDeviceToHost, self->stream);
  work->error = WaitForCommunicator(self, true, work->timeoutMs);
}

void CollectiveComplete(napi_env env, napi_status, void* data) {
  auto* work = static_cast<CollectiveWork*>(data);
  if (work->error.empty()) {
    napi_value undefined;
    napi_get_undefined(env, &undefined);
    napi_resolve_deferred(env, work->deferred, undefined);
  } else {
    napi_value message, error;
    napi_create_string_utf8(env, work->error.c_str(), NAPI_AUTO_LENGTH, &message);
    napi_create_error(env, nullptr, message, &error);
    napi_reject_deferred(env, work->deferred, error);
  }
  napi_delete_reference(env, work->inputRef);
  napi_delete_reference(env, work->outputRef);
  napi_delete_async_work(env, work->work);
  delete work;
}

bool Float32Array(napi_env env, napi_value value, float** data, size_t* length) {
  napi_typedarray_type type;
  void* raw;
  napi_value arrayBuffer;
  size_t offset;
  if (napi_get_typedarray_info(env, value, &type, length, &raw, &arrayBuffer, &offset) != napi_ok || type != napi_float32_array) {
    return false;
  }
  *data = static_cast<float*>(raw);
  return true;
}

napi_value Collective(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  auto* work = new CollectiveWork();
  NAPI_CALL(env, napi_get_value_external(env, argv[0], reinterpret_cast<void**>(&work->self)));
  char kind[32];
  size_t kindLength;
  NAPI_CALL(env, napi_get_value_string_utf8(env, argv[1], kind, sizeof(kind), &kindLength));
  work->kind = kind;
  if (!Float32Array(env, argv[2], &work->input, &work->inputCount) || !Float32Array(env, argv[3], &work->output, &work->outputCount)) {
    delete work;
    napi_throw_type_error(env, nullptr, "input and output must be Float32Arrays");
    return nullptr;
  }
  char op[8];
  size_t opLength;
  NAPI_CALL(env, napi_get_value_string_utf8(env, argv[4], op, sizeof(op), &opLength));
  const std::string opName = op;
  work->op = opName == "max" ? ncclMax : opName == "min" ? ncclMin : opName == "avg" ? ncclAvg : ncclSum;
  NAPI_CALL(env, napi_get_value_int32(env, argv[5], &work->root));
  NAPI_CALL(env, napi_get_value_double(env, argv[6], &work->timeoutMs));
  // Keep the arrays alive while a worker thread reads and writes their memory.
  NAPI_CALL(env, napi_create_reference(env, argv[2], 1, &work->inputRef));
  NAPI_CALL(env, napi_create_reference(env, argv[3], 1, &work->outputRef));
  napi_value promise, name;
  NAPI_CALL(env, napi_create_promise(env, &work->deferred, &promise));
  NAPI_CALL(env, napi_create_string_utf8(env, "posttrain_nccl_collective", NAPI_AUTO_LENGTH, &name));
  NAPI_CALL(env, napi_create_async_work(env, nullptr, name, CollectiveExecute, CollectiveComplete, work, &work->work));
  NAPI_CALL(env, napi_queue_async_work(env, work->work));
  return promise;
}

// ---- abort(handle) ------------------------------------------------------------------------------------------------

napi_value Abort(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  Communicator* self;
  NAPI_CALL(env, napi_get_value_external(env, argv[0], reinterpret_cast<void**>(&self)));
  self->abortRequested.store(true);  // a running collective's worker sees this and calls ncclCommAbort
  return nullptr;
}

// ---- destroy(handle): free now (the TypeScript side never calls it while a collective is running) -------------------

napi_value Destroy(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  Communicator* self;
  NAPI_CALL(env, napi_get_value_external(env, argv[0], reinterpret_cast<void**>(&self)));
  Release(self);
  return nullptr;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"getUniqueId", nullptr, GetUniqueId, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"initRank", nullptr, InitRank, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"collective", nullptr, Collective, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"abort", nullptr, Abort, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"destroy", nullptr, Destroy, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  NAPI_CALL(env, napi_define_properties(env, exports, sizeof(properties) / sizeof(properties[0]), properties));
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
