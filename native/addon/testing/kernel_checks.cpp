// The kernels' checks, for the test suites: each CPU reference against composed libtorch ops
// (kernelCheck, CPU) and each CUDA kernel against its CPU reference (kernelParity, GPU). The
// registries live in kernels/parity.cpp.
#include "addon/convert.h"
#include "addon/errors.h"
#include "addon/testing/exports.h"
#include "kernels/parity.h"

namespace tats::addon::testing {

namespace {

Napi::Object report_to_js(Napi::Env env, const ops::ParityReport& r) {
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
  return o;
}

Napi::Value KernelCheckNames(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array names = Napi::Array::New(env);
  uint32_t i = 0;
  for (const auto& entry : ops::check_registry()) names.Set(i++, Napi::String::New(env, entry.first));
  return names;
}

// kernelCheck(name, seed) -> ParityReport[]: the CPU reference against composed libtorch ops
// (synchronous; small inputs).
Napi::Value KernelCheck(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string name = arg_string(info, 0, "name");
  const int64_t seed = arg_int(info, 1, "seed");
  if (seed < 0) throw_type_error(env, "seed must be a non-negative integer");
  for (const auto& entry : ops::check_registry()) {
    if (entry.first == name) {
      return guarded(env, "kernelCheck", [&]() -> Napi::Value {
        const auto reports = entry.second(static_cast<uint64_t>(seed));
        Napi::Array out = Napi::Array::New(env);
        for (size_t i = 0; i < reports.size(); ++i) out.Set(static_cast<uint32_t>(i), report_to_js(env, reports[i]));
        return out;
      });
    }
  }
  throw_error(env, "ERR_INVALID_ARG", "no kernel check named '" + name + "'; known: see kernelCheckNames()");
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
    for (size_t i = 0; i < reports_.size(); ++i) out.Set(static_cast<uint32_t>(i), report_to_js(env, reports_[i]));
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

void register_kernel_checks(Napi::Env env, Napi::Object testing) {
  export_function(env, testing, "kernelCheckNames", KernelCheckNames);
  export_function(env, testing, "kernelCheck", KernelCheck);
  export_function(env, testing, "kernelNames", KernelNames);
  export_function(env, testing, "kernelParity", KernelParity);
}

}  // namespace tats::addon::testing
