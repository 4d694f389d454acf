// Kernel entry points: preprocessing ops usable on their own, and the parity check that compares
// every CUDA kernel with its CPU reference.
#include "addon/convert.h"
#include "addon/errors.h"
#include "addon/exports.h"
#include "kernels/parity.h"
#include "kernels/patchify_op.h"

namespace tats::addon {

namespace {

// patchify(clips: Uint8Array, shape: {batch, frames, height, width, tubelet, patch}) ->
//   {patches: Float32Array [B,N,3*tt*p*p], targets: Float32Array [B,N,tt*p*p*3], tokens: N}
Napi::Value Patchify(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Napi::Object shape = arg_object(info, 1, "shape");
  const int64_t B = get_int(shape, "batch", "shape"), T = get_int(shape, "frames", "shape");
  const int64_t H = get_int(shape, "height", "shape"), W = get_int(shape, "width", "shape");
  const int64_t tt = get_int_or(shape, "tubelet", 2, "shape"), p = get_int_or(shape, "patch", 16, "shape");
  if (info.Length() < 1) throw_type_error(env, "clips must be a Uint8Array or Buffer, received undefined");
  const torch::Tensor clips = uint8_view(env, info[0], {B, T, H, W, 3}, "clips");
  return guarded(env, "patchify", [&]() -> Napi::Value {
    const auto out = ops::patchify(clips, tt, p);
    Napi::Object result = Napi::Object::New(env);
    result.Set("patches", to_float32_array(env, out.patches));
    result.Set("targets", to_float32_array(env, out.targets));
    result.Set("tokens", Napi::Number::New(env, static_cast<double>(out.patches.size(1))));
    return result;
  });
}

Napi::Value KernelNames(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array names = Napi::Array::New(env);
  uint32_t i = 0;
  for (const auto& entry : ops::parity_registry()) names.Set(i++, Napi::String::New(env, entry.first));
  return names;
}

class ParityWorker : public PromiseWorker {
 public:
  ParityWorker(Napi::Env env, ops::ParityFn fn, uint64_t seed)
      : PromiseWorker(env, "kernelParity"), fn_(std::move(fn)), seed_(seed) {}

 protected:
  void Run() override {
    TORCH_CHECK(torch::cuda::is_available(), "kernelParity needs a CUDA device; none is available");
    reports_ = fn_(seed_);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Array out = Napi::Array::New(env);
    for (size_t i = 0; i < reports_.size(); ++i) {
      const auto& r = reports_[i];
      Napi::Object o = Napi::Object::New(env);
      o.Set("kernel", r.kernel);
      o.Set("output", r.output);
      o.Set("dtype", r.dtype);
      o.Set("numel", Napi::Number::New(env, static_cast<double>(r.numel)));
      o.Set("maxAbsDiff", r.max_abs_diff);
      o.Set("maxRelDiff", r.max_rel_diff);
      o.Set("atol", r.atol);
      o.Set("rtol", r.rtol);
      o.Set("mismatches", Napi::Number::New(env, static_cast<double>(r.mismatches)));
      o.Set("firstMismatches", r.first_mismatches);
      o.Set("ok", r.ok());
      out.Set(static_cast<uint32_t>(i), o);
    }
    return out;
  }

 private:
  ops::ParityFn fn_;
  uint64_t seed_;
  std::vector<ops::ParityReport> reports_;
};

// kernelParity(name, seed) -> Promise<ParityReport[]>; rejects with ERR_TORCH without CUDA.
Napi::Value KernelParity(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string name = arg_string(info, 0, "name");
  const int64_t seed = arg_int(info, 1, "seed");
  if (seed < 0) throw_type_error(env, "seed must be a non-negative integer");
  for (const auto& entry : ops::parity_registry()) {
    if (entry.first == name) {
      auto* worker = new ParityWorker(env, entry.second, static_cast<uint64_t>(seed));
      worker->Queue();
      return worker->Promise();
    }
  }
  throw_error(env, "ERR_INVALID_ARG", "no kernel named '" + name + "'; known: see kernelNames()");
}

}  // namespace

void register_kernels(Napi::Env env, Napi::Object exports) {
  exports.Set("patchify", Napi::Function::New(env, Patchify, "patchify"));
  exports.Set("kernelNames", Napi::Function::New(env, KernelNames, "kernelNames"));
  exports.Set("kernelParity", Napi::Function::New(env, KernelParity, "kernelParity"));
}

}  // namespace tats::addon
