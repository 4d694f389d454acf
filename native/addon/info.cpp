// info(): what this binary was built against and what hardware it sees.
#include <torch/torch.h>
#include <torch/version.h>

#include "addon/errors.h"
#include "addon/exports.h"
#ifdef TATS_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#endif

namespace tats::addon {

namespace {

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "info", [&]() -> Napi::Value {
    Napi::Object out = Napi::Object::New(env);
    out.Set("torch", Napi::String::New(env, TORCH_VERSION));
    out.Set("torchSource", Napi::String::New(env, TATS_TORCH_SOURCE));
#ifdef TATS_WITH_CUDA
    const bool compiled = true;
#else
    const bool compiled = false;
#endif
    out.Set("cudaCompiled", Napi::Boolean::New(env, compiled));
    out.Set("cudaArchitectures", Napi::String::New(env, TATS_CUDA_ARCHS));
    out.Set("napiVersion", Napi::Number::New(env, NAPI_VERSION));
    out.Set("cppAbi", Napi::Number::New(env, _GLIBCXX_USE_CXX11_ABI));
    out.Set("threads", Napi::Number::New(env, at::get_num_threads()));
    const bool available = compiled && torch::cuda::is_available();
    out.Set("cudaAvailable", Napi::Boolean::New(env, available));
    Napi::Array devices = Napi::Array::New(env);
#ifdef TATS_WITH_CUDA
    if (available) {
      const int64_t count = static_cast<int64_t>(torch::cuda::device_count());
      for (int64_t i = 0; i < count; ++i) {
        const cudaDeviceProp* prop = at::cuda::getDeviceProperties(static_cast<int>(i));
        Napi::Object d = Napi::Object::New(env);
        d.Set("index", Napi::Number::New(env, static_cast<double>(i)));
        d.Set("name", Napi::String::New(env, prop->name));
        d.Set("capability", Napi::String::New(env, std::to_string(prop->major) + "." + std::to_string(prop->minor)));
        d.Set("memoryGiB", Napi::Number::New(env, prop->totalGlobalMem / 1073741824.0));
        d.Set("multiprocessors", Napi::Number::New(env, prop->multiProcessorCount));
        devices.Set(static_cast<uint32_t>(i), d);
      }
    }
#endif
    out.Set("devices", devices);
    return out;
  });
}

}  // namespace

void register_info(Napi::Env env, Napi::Object exports) { export_function(env, exports, "info", Info); }

}  // namespace tats::addon
