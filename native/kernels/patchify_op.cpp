#include "kernels/patchify_op.h"

#include "kernels/patchify.h"
#ifdef TATS_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>
#endif

namespace tats::ops {

Patchified patchify(const torch::Tensor& clips, int64_t tubelet, int64_t patch, torch::ScalarType patch_dtype,
                    bool want_patches, bool want_targets) {
  TORCH_CHECK(clips.dim() == 5 && clips.size(4) == 3, "patchify: clips must be [B,T,H,W,3], got ", clips.sizes());
  TORCH_CHECK(clips.scalar_type() == torch::kUInt8, "patchify: clips must be uint8, got ", clips.scalar_type());
  TORCH_CHECK(tubelet > 0 && patch > 0 && tubelet * patch * patch >= 2, "patchify: bad tubelet/patch ", tubelet,
              "/", patch);
  const int64_t B = clips.size(0), T = clips.size(1), H = clips.size(2), W = clips.size(3);
  TORCH_CHECK(T % tubelet == 0, "patchify: frames (", T, ") must be a multiple of the tubelet (", tubelet, ")");
  TORCH_CHECK(H % patch == 0 && W % patch == 0, "patchify: height and width (", H, "x", W,
              ") must be multiples of the patch (", patch, ")");
  TORCH_CHECK(patch_dtype == torch::kFloat || patch_dtype == torch::kBFloat16,
              "patchify: patch dtype must be float32 or bfloat16");
  const auto src = clips.contiguous();
  const int64_t N = (T / tubelet) * (H / patch) * (W / patch), pix = tubelet * patch * patch;
  const auto opts = src.options();
  Patchified out;
  if (want_patches) out.patches = torch::empty({B, N, 3 * pix}, opts.dtype(patch_dtype));
  if (want_targets) out.targets = torch::empty({B, N, pix * 3}, opts.dtype(torch::kFloat));
  const kernels::PatchifyShape shape{B, T, H, W, tubelet, patch};
  if (src.is_cuda()) {
#ifdef TATS_WITH_CUDA
    const c10::cuda::CUDAGuard guard(src.device());
    kernels::patchify_cuda(src.data_ptr<uint8_t>(), want_patches ? out.patches.data_ptr() : nullptr,
                           patch_dtype == torch::kBFloat16, want_targets ? out.targets.data_ptr<float>() : nullptr,
                           shape, at::cuda::getCurrentCUDAStream().stream());
#else
    TORCH_CHECK(false, "patchify: this build has no CUDA kernels");
#endif
    return out;
  }
  if (want_patches && patch_dtype != torch::kFloat) {
    // The reference computes in fp32; a bf16 request on CPU is a cast of that.
    auto full = torch::empty({B, N, 3 * pix}, opts.dtype(torch::kFloat));
    kernels::patchify_cpu(src.data_ptr<uint8_t>(), full.data_ptr<float>(),
                          want_targets ? out.targets.data_ptr<float>() : nullptr, shape);
    out.patches = full.to(patch_dtype);
    return out;
  }
  kernels::patchify_cpu(src.data_ptr<uint8_t>(), want_patches ? out.patches.data_ptr<float>() : nullptr,
                        want_targets ? out.targets.data_ptr<float>() : nullptr, shape);
  return out;
}

std::vector<ParityReport> patchify_parity(uint64_t seed) {
  torch::Generator gen = at::detail::createCPUGenerator(seed);
  // Odd sizes on purpose: 3 clips of 4 frames at 48x32 with 16 px patches, plus the base tubelet.
  const auto clips = torch::randint(0, 256, {3, 4, 48, 32, 3}, gen, torch::dtype(torch::kUInt8));
  const auto want = patchify(clips, 2, 16);
  std::vector<ParityReport> reports;
  const auto got = patchify(clips.to(torch::kCUDA), 2, 16);
  // fp32: the kernel reduces in float with a different order; |x| <= ~8 and targets ~N(0,1).
  reports.push_back(compare("patchify", "patches_fp32", got.patches, want.patches, 1e-5, 1e-5));
  reports.push_back(compare("patchify", "targets", got.targets, want.targets, 1e-4, 1e-4));
  const auto got_bf16 = patchify(clips.to(torch::kCUDA), 2, 16, torch::kBFloat16, true, false);
  // bf16 has an 8-bit mantissa: relative rounding error up to 2^-8.
  reports.push_back(compare("patchify", "patches_bf16", got_bf16.patches, want.patches, 1e-2, 4e-3));
  return reports;
}

}  // namespace tats::ops
