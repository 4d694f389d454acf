// Process-level runtime: libtorch's CPU thread count, and CUDA memory statistics for benchmarks.
#include <torch/torch.h>

#include <cstdlib>
#include <mutex>
#include <thread>

#include "addon/errors.h"
#include "addon/exports.h"
#ifdef TATS_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace tats::addon {

namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

#ifdef TATS_WITH_CUDA
// The caching allocator's per-device state is created lazily by the first CUDA tensor; before that,
// its statistics calls fail with "Invalid device argument" (seen when a process asks for memory
// figures before it has built a session). One small tensor brings it up.
c10::DeviceIndex cuda_device(Napi::Env env, const char* where) {
  if (!torch::cuda::is_available()) throw_error(env, "ERR_NO_CUDA", std::string(where) + ": no CUDA device is available");
  return 0;
}

void init_allocator(c10::DeviceIndex device) {
  static std::once_flag once;
  std::call_once(once, [device] { (void)torch::empty({1}, torch::TensorOptions().device(torch::kCUDA, device)); });
}
#endif

// cudaMemory() -> {allocatedGiB, peakGiB}: bytes held by libtorch's caching allocator on device 0,
// now and at the peak since start or the last cudaResetPeak().
Napi::Value CudaMemory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
#ifdef TATS_WITH_CUDA
  const auto device = cuda_device(env, "cudaMemory");
  return guarded(env, "cudaMemory", [&]() -> Napi::Value {
    init_allocator(device);
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device);
    // allocated_bytes[0] is the aggregate over pool types (StatType::AGGREGATE).
    const auto& bytes = stats.allocated_bytes[0];
    Napi::Object out = Napi::Object::New(env);
    out.Set("allocatedGiB", Napi::Number::New(env, static_cast<double>(bytes.current) / kGiB));
    out.Set("peakGiB", Napi::Number::New(env, static_cast<double>(bytes.peak) / kGiB));
    return out;
  });
#else
  throw_error(env, "ERR_NO_CUDA", "cudaMemory: this binary was built without CUDA");
#endif
}

Napi::Value CudaResetPeak(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
#ifdef TATS_WITH_CUDA
  const auto device = cuda_device(env, "cudaResetPeak");
  return guarded(env, "cudaResetPeak", [&]() -> Napi::Value {
    init_allocator(device);
    c10::cuda::CUDACachingAllocator::resetPeakStats(device);
    return env.Undefined();
  });
#else
  throw_error(env, "ERR_NO_CUDA", "cudaResetPeak: this binary was built without CUDA");
#endif
}

// libtorch's intra-op pool can come up with a single thread inside Node; use every core unless
// the user chose a count with OMP_NUM_THREADS.
void configure_threads() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (std::getenv("OMP_NUM_THREADS") != nullptr) return;
    const unsigned cores = std::thread::hardware_concurrency();
    if (cores > 0) at::set_num_threads(static_cast<int>(cores));
  });
}

}  // namespace

void register_runtime(Napi::Env env, Napi::Object exports) {
  configure_threads();
  export_function(env, exports, "cudaMemory", CudaMemory);
  export_function(env, exports, "cudaResetPeak", CudaResetPeak);
}

}  // namespace tats::addon
