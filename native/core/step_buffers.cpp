#include "core/step_buffers.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <torch/version.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace tats::core {

torch::Tensor ClipUpload::upload(const torch::Tensor& clips_in, const torch::Device& device) {
  const auto clips = clips_in.contiguous();
  TORCH_CHECK(clips.is_cpu() && clips.scalar_type() == torch::kUInt8, "ClipUpload: clips must be uint8 on the CPU");
  if (!device.is_cuda()) return clips;
  if (!host_.defined() || host_.sizes() != clips.sizes()) {
    host_ = torch::empty(clips.sizes(), torch::TensorOptions().dtype(torch::kUInt8).pinned_memory(true));
    device_ = torch::empty(clips.sizes(), torch::TensorOptions().dtype(torch::kUInt8).device(device));
  }
  const auto* src = clips.data_ptr<uint8_t>();
  auto* dst = host_.data_ptr<uint8_t>();
  // 77 MB for ViT-B batch 32: one thread copies ~10 GB/s, the intra-op pool several times that.
  at::parallel_for(0, clips.numel(), int64_t{1} << 21,
                   [&](int64_t begin, int64_t end) { std::memcpy(dst + begin, src + begin, end - begin); });
  device_.copy_(host_, /*non_blocking=*/true);
  return device_;
}

void configure_sdpa_from_env() {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 5)
  static bool saved = false;
  static bool flash = true, efficient = true, math = true, cudnn = true;
  const char* v = std::getenv("TATS_SDPA");
  if (!v || !*v) return;
  auto& ctx = at::globalContext();
  if (!saved) {
    flash = ctx.userEnabledFlashSDP();
    efficient = ctx.userEnabledMemEfficientSDP();
    math = ctx.userEnabledMathSDP();
    cudnn = ctx.userEnabledCuDNNSDP();
    saved = true;
  }
  const std::string s(v);
  if (s == "flash" || s == "efficient" || s == "cudnn" || s == "math") {
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
#endif
}

bool env_enabled(const char* name) {
  const char* v = std::getenv((std::string("TATS_") + name).c_str());
  return !(v && std::strcmp(v, "0") == 0);
}

}  // namespace tats::core
