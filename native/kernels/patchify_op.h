// Tensor-level patchify (see patchify.h): checks shapes and dtypes, dispatches to the CPU
// reference or the CUDA kernel by the clip tensor's device.
#pragma once
#include <torch/torch.h>

#include "kernels/parity.h"

namespace tats::ops {

struct Patchified {
  torch::Tensor patches;  // [B, N, 3*tt*p*p], (c, dt, dy, dx), ImageNet-normalised
  torch::Tensor targets;  // [B, N, tt*p*p*3], (dt, dy, dx, c), per-tubelet normalised, fp32
};

// clips: uint8 [B, T, H, W, 3], contiguous, on CPU or CUDA. patch_dtype: kFloat, or kBFloat16 on CUDA.
Patchified patchify(const torch::Tensor& clips, int64_t tubelet, int64_t patch,
                    torch::ScalarType patch_dtype = torch::kFloat, bool want_patches = true,
                    bool want_targets = true);

// GPU kernel vs CPU reference on random clips.
std::vector<ParityReport> patchify_parity(uint64_t seed);

}  // namespace tats::ops
