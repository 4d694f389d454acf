// The TATS sampler's micro-bench (act + K-epoch PPO update on random embeddings), for the GPU
// tests; the timing itself lives in core/testing/sampler_bench.
#include "addon/convert.h"
#include "addon/errors.h"
#include "addon/testing/args.h"
#include "addon/testing/exports.h"
#include "core/testing/sampler_bench.h"

namespace tats::addon::testing {

namespace {

class SamplerBenchWorker : public PromiseWorker {
 public:
  SamplerBenchWorker(Napi::Env env, core::testing::SamplerBenchOptions options, torch::Device device)
      : PromiseWorker(env, "samplerBench"), options_(options), device_(device) {}

 protected:
  void Run() override { r_ = core::testing::sampler_bench(options_, device_); }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("actMs", r_.act_ms);
    o.Set("updateMs", r_.update_ms);
    o.Set("peakMiB", r_.peak_mib);
    return o;
  }

 private:
  core::testing::SamplerBenchOptions options_;
  torch::Device device_;
  core::testing::SamplerBenchResult r_{};
};

// samplerBench({batch, slots, perSlot, inputDim, dim, heads, epochs, steps, ratio, bf16?}, device?)
//   -> Promise<{actMs, updateMs, peakMiB}>
Napi::Value SamplerBenchFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Napi::Object opts = arg_object(info, 0, "options");
  core::testing::SamplerBenchOptions o;
  o.batch = get_int(opts, "batch", "options");
  o.slots = get_int(opts, "slots", "options");
  o.per_slot = get_int(opts, "perSlot", "options");
  o.input_dim = get_int(opts, "inputDim", "options");
  o.dim = get_int(opts, "dim", "options");
  o.heads = get_int(opts, "heads", "options");
  o.epochs = get_int(opts, "epochs", "options");
  o.steps = get_int(opts, "steps", "options");
  o.ratio = get_number(opts, "ratio", "options");
  o.bf16 = get_bool_or(opts, "bf16", false, "options");
  o.graph = get_bool_or(opts, "graph", false, "options");
  const torch::Device device = arg_device(info, 1);
  // Upper bounds too: steps and epochs are loop counts (an unbounded one hangs the worker).
  const bool ok = o.batch >= 1 && o.batch <= 1024 && o.slots >= 1 && o.slots <= 64 && o.per_slot >= 1 &&
                  o.per_slot <= 4096 && o.input_dim >= 1 && o.input_dim <= 4096 && o.dim >= 1 && o.dim <= 4096 &&
                  o.heads >= 1 && o.heads <= 64 && o.dim % o.heads == 0 && o.epochs >= 1 && o.epochs <= 64 &&
                  o.steps >= 3 && o.steps <= 10000 && o.ratio > 0 && o.ratio < 1;
  if (!ok)
    throw_error(env, "ERR_INVALID_ARG",
                "samplerBench: sizes must be positive (batch <= 1024, slots <= 64, perSlot <= 4096, inputDim and dim <= 4096, heads <= 64), dim a multiple of heads, epochs in [1, 64], steps in [3, 10000], ratio in (0, 1)");
  if (o.bf16 && !device.is_cuda()) throw_error(env, "ERR_INVALID_ARG", "samplerBench: bf16 needs device 'cuda'");
  auto* worker = new SamplerBenchWorker(env, o, device);
  worker->Queue();
  return worker->Promise();
}

}  // namespace

void register_sampler_bench(Napi::Env env, Napi::Object testing) {
  export_function(env, testing, "samplerBench", SamplerBenchFn);
}

}  // namespace tats::addon::testing
