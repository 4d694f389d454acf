// Clip -> tubelet patches + normalised-pixel targets, in one pass over a uint8 clip batch.
//
// Layout (all contiguous, row-major):
//   clips   uint8 [B, T, H, W, 3]                       (RGB, as decoded)
//   patches float [B, N, 3*tt*p*p]  order (c, dt, dy, dx) = Conv3d weight.view(D, -1) order,
//           value (x/255 - mean[c]) / std[c]            (VideoMAE's ImageNet normalisation)
//   targets float [B, N, tt*p*p*3]  order (dt, dy, dx, c) = VideoMAE's target order,
//           value (x/255 - mu) / (sqrt(var_unbiased) + 1e-6), mu/var per token and channel
//           over the tt*p*p pixels of the tubelet
//   N = (T/tt) * (H/p) * (W/p), tokens in (t, h, w) order.
// Preconditions: T % tt == 0, H % p == 0, W % p == 0, tt*p*p >= 2. Either output may be null.
#pragma once
#include <cstdint>

namespace tats::kernels {

struct PatchifyShape {
  int64_t batch, frames, height, width;  // clip shape (channels fixed at 3)
  int64_t tubelet, patch;
};

// Plain loops; the reference every other version is checked against.
void patchify_cpu(const uint8_t* clips, float* patches, float* targets, const PatchifyShape& s);

#ifdef TATS_WITH_CUDA
// One block per token. `patches_bf16` selects bf16 output for the patches (the encoder's
// autocast dtype); targets stay fp32 for the loss. `stream` is a cudaStream_t.
void patchify_cuda(const uint8_t* clips, void* patches, bool patches_bf16, float* targets,
                   const PatchifyShape& s, void* stream);
#endif

}  // namespace tats::kernels
