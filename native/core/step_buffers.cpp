#include "core/step_buffers.h"

#include <ATen/Context.h>
#include <torch/version.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace tats::core {

void parallel_copy(void* dst_, const void* src_, int64_t n) {
  auto* dst = static_cast<uint8_t*>(dst_);
  const auto* src = static_cast<const uint8_t*>(src_);
  const int64_t parts = std::max<int64_t>(1, std::min<int64_t>({static_cast<int64_t>(std::thread::hardware_concurrency()), 16, n >> 22}));
  if (parts == 1) {
    if (n > 0) std::memcpy(dst, src, static_cast<size_t>(n));
    return;
  }
  std::vector<std::thread> workers;
  workers.reserve(static_cast<size_t>(parts - 1));
  const int64_t chunk = (n + parts - 1) / parts;
  for (int64_t p = 1; p < parts; ++p) {
    const int64_t begin = p * chunk, end = std::min(n, begin + chunk);
    if (begin < end) workers.emplace_back([=] { std::memcpy(dst + begin, src + begin, static_cast<size_t>(end - begin)); });
  }
  std::memcpy(dst, src, static_cast<size_t>(std::min(n, chunk)));
  for (auto& w : workers) w.join();
}

torch::Tensor ClipUpload::upload(const torch::Tensor& clips_in, const torch::Device& device) {
  const auto clips = clips_in.contiguous();
  TORCH_CHECK(clips.is_cpu() && clips.scalar_type() == torch::kUInt8, "ClipUpload: clips must be uint8 on the CPU");
  if (!device.is_cuda()) return clips;
  if (!device_.defined() || device_.sizes() != clips.sizes()) {
    host_ = torch::Tensor();
    device_ = torch::empty(clips.sizes(), torch::TensorOptions().dtype(torch::kUInt8).device(device));
  }
  if (clips.is_pinned()) {  // already where the DMA reads from: no second host copy
    last_copy_ms_ = 0;
    device_.copy_(clips, /*non_blocking=*/true);
    return device_;
  }
  if (!host_.defined()) host_ = torch::empty(clips.sizes(), torch::TensorOptions().dtype(torch::kUInt8).pinned_memory(true));
  const auto t0 = std::chrono::steady_clock::now();
  parallel_copy(host_.data_ptr<uint8_t>(), clips.data_ptr<uint8_t>(), clips.numel());
  last_copy_ms_ = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  device_.copy_(host_, /*non_blocking=*/true);
  return device_;
}

void configure_sdpa(const std::string& s) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 5)
  static bool saved = false;
  static bool flash = true, efficient = true, math = true, cudnn = true;
  const bool forced = s == "flash" || s == "efficient" || s == "cudnn" || s == "math";
  if (!forced && !saved) return;
  auto& ctx = at::globalContext();
  if (!saved) {
    flash = ctx.userEnabledFlashSDP();
    efficient = ctx.userEnabledMemEfficientSDP();
    math = ctx.userEnabledMathSDP();
    cudnn = ctx.userEnabledCuDNNSDP();
    saved = true;
  }
  if (forced) {
    ctx.setSDPUseFlash(s == "flash");
    ctx.setSDPUseMemEfficient(s == "efficient");
    ctx.setSDPUseMath(s == "math");
    ctx.setSDPUseCuDNN(s == "cudnn");
  } else {
    ctx.setSDPUseFlash(flash);
    ctx.setSDPUseMemEfficient(efficient);
    ctx.setSDPUseMath(math);
    ctx.setSDPUseCuDNN(cudnn);
  }
#else
  (void)s;
#endif
}

}  // namespace tats::core
