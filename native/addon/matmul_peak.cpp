// The measured matmul peak that `tats bench` reports MFU against (lib/train/bench.ts), part of the
// product: a square torch::mm loop, bf16 on CUDA (the tensor-core peak training runs at), fp32 on
// CPU.
#include <chrono>

#include "addon/convert.h"
#include "addon/errors.h"
#include "addon/exports.h"

#ifdef TATS_WITH_CUDA
#include <torch/cuda.h>
#endif

namespace tats::addon {

namespace {

class MatmulPeakWorker : public PromiseWorker {
 public:
  MatmulPeakWorker(Napi::Env env, bool cuda, int64_t n, int64_t iters)
      : PromiseWorker(env, "matmulPeak"), cuda_(cuda), n_(n), iters_(iters) {}

 protected:
  void Run() override {
    torch::NoGradGuard no_grad;
    TORCH_CHECK(!cuda_ || torch::cuda::is_available(), "matmulPeak: device cuda requested but no CUDA device is available");
    const auto device = cuda_ ? torch::kCUDA : torch::kCPU;
    const auto dtype = cuda_ ? torch::kBFloat16 : torch::kFloat32;
    // Operands drawn on the CPU and copied: the CUDA generator may belong to a Session's captured
    // CUDA graph, and drawing from it outside the capture is an error.
    const torch::Tensor a = torch::randn({n_, n_}).to(device, dtype);
    const torch::Tensor b = torch::randn({n_, n_}).to(device, dtype);
    torch::Tensor c = torch::empty({n_, n_}, torch::TensorOptions().device(device).dtype(dtype));
    const int64_t warmup = 3;  // first calls pick cuBLAS algorithms and warm clocks
    for (int64_t i = 0; i < warmup; ++i) torch::mm_out(c, a, b);
    sync();
    const auto t0 = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < iters_; ++i) torch::mm_out(c, a, b);
    sync();
    const auto t1 = std::chrono::steady_clock::now();
    seconds_ = std::chrono::duration<double>(t1 - t0).count();
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    const double flops = 2.0 * static_cast<double>(n_) * static_cast<double>(n_) * static_cast<double>(n_) *
                         static_cast<double>(iters_);
    o.Set("tflops", flops / seconds_ / 1e12);
    o.Set("ms", seconds_ * 1e3 / static_cast<double>(iters_));
    o.Set("size", Napi::Number::New(env, static_cast<double>(n_)));
    o.Set("iters", Napi::Number::New(env, static_cast<double>(iters_)));
    o.Set("dtype", cuda_ ? "bf16" : "fp32");
    o.Set("device", cuda_ ? "cuda" : "cpu");
    return o;
  }

 private:
  void sync() const {
#ifdef TATS_WITH_CUDA
    if (cuda_) torch::cuda::synchronize();
#endif
  }

  bool cuda_;
  int64_t n_, iters_;
  double seconds_ = 0;
};

// matmulPeak({device: 'cpu'|'cuda', size, iters}) -> Promise<{tflops, ms, size, iters, dtype, device}>
Napi::Value MatmulPeak(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Napi::Object opts = arg_object(info, 0, "options");
  const std::string device = get_string(opts, "device", "options");
  const int64_t n = get_int(opts, "size", "options");
  const int64_t iters = get_int(opts, "iters", "options");
  if (device != "cpu" && device != "cuda") throw_type_error(env, "options.device must be 'cpu' or 'cuda', received '" + device + "'");
  if (n < 16 || n > 32768) throw_type_error(env, "options.size must be an integer in [16, 32768]");
  if (iters < 1 || iters > 100000) throw_type_error(env, "options.iters must be an integer in [1, 100000]");
  auto* worker = new MatmulPeakWorker(env, device == "cuda", n, iters);
  worker->Queue();
  return worker->Promise();
}

}  // namespace

void register_matmul_peak(Napi::Env env, Napi::Object exports) {
  export_function(env, exports, "matmulPeak", MatmulPeak);
}

}  // namespace tats::addon
