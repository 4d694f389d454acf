// CUDA version of patchify.h: one block per token; the tubelet is staged in shared memory,
// so the uint8 clip is read once and both outputs are written coalesced.
// Bandwidth: per token 3*tt*p*p bytes in, 2 * 3*tt*p*p * 4 bytes out (fp32) -> write bound.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#include "kernels/patchify.h"

namespace tats::kernels {

namespace {

__constant__ float c_mean[3] = {0.485f, 0.456f, 0.406f};
__constant__ float c_inv_std[3] = {1.0f / 0.229f, 1.0f / 0.224f, 1.0f / 0.225f};
constexpr int kThreads = 256;

__device__ float block_sum(float v, float* scratch) {
  for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads();  // scratch may still be read by a previous reduction
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  float total = 0.f;
  for (int w = 0; w < (int)(blockDim.x >> 5); ++w) total += scratch[w];
  return total;
}

template <typename PatchT>
__global__ void patchify_kernel(const uint8_t* __restrict__ clips, PatchT* __restrict__ patches,
                                float* __restrict__ targets, int frames, int height, int width, int tubelet,
                                int patch, int gh, int gw, int n_tokens) {
  extern __shared__ float vals[];  // [pix * 3], (p, c) order, in [0, 1]
  __shared__ float scratch[32];
  const int row = blockIdx.x;  // b * n_tokens + tok
  const int b = row / n_tokens, tok = row % n_tokens;
  const int ti = tok / (gh * gw), hi = (tok / gw) % gh, wi = tok % gw;
  const int pp = patch * patch, pix = tubelet * pp;

  for (int i = threadIdx.x; i < pix * 3; i += blockDim.x) {
    const int p = i / 3, c = i % 3;
    const int dt = p / pp, dy = (p / patch) % patch, dx = p % patch;
    const int t = ti * tubelet + dt, y = hi * patch + dy, x = wi * patch + dx;
    const size_t src = ((((size_t)b * frames + t) * height + y) * width + x) * 3 + c;
    vals[i] = clips[src] * (1.0f / 255.0f);
  }
  __syncthreads();

  if (patches) {
    PatchT* out = patches + (size_t)row * 3 * pix;
    for (int i = threadIdx.x; i < pix * 3; i += blockDim.x) {
      const int c = i / pix, p = i % pix;
      out[i] = static_cast<PatchT>((vals[p * 3 + c] - c_mean[c]) * c_inv_std[c]);
    }
  }
  if (targets) {
    float* out = targets + (size_t)row * pix * 3;
    for (int c = 0; c < 3; ++c) {
      float s = 0.f;
      for (int p = threadIdx.x; p < pix; p += blockDim.x) s += vals[p * 3 + c];
      const float mean = block_sum(s, scratch) / pix;
      float sq = 0.f;
      for (int p = threadIdx.x; p < pix; p += blockDim.x) {
        const float d = vals[p * 3 + c] - mean;
        sq += d * d;
      }
      const float inv = 1.0f / (sqrtf(block_sum(sq, scratch) / (pix - 1)) + 1e-6f);
      for (int p = threadIdx.x; p < pix; p += blockDim.x) out[p * 3 + c] = (vals[p * 3 + c] - mean) * inv;
    }
  }
}

void check_launch(const char* what) {
  const cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(err));
}

}  // namespace

void patchify_cuda(const uint8_t* clips, void* patches, bool patches_bf16, float* targets, const PatchifyShape& s,
                   void* stream) {
  const int gh = s.height / s.patch, gw = s.width / s.patch;
  const int n_tokens = (s.frames / s.tubelet) * gh * gw;
  const int pix = s.tubelet * s.patch * s.patch;
  const size_t smem = sizeof(float) * pix * 3;
  const dim3 grid(s.batch * n_tokens);
  auto st = static_cast<cudaStream_t>(stream);
  if (patches_bf16) {
    patchify_kernel<__nv_bfloat16><<<grid, kThreads, smem, st>>>(clips, static_cast<__nv_bfloat16*>(patches), targets,
                                                                 s.frames, s.height, s.width, s.tubelet, s.patch, gh,
                                                                 gw, n_tokens);
  } else {
    patchify_kernel<float><<<grid, kThreads, smem, st>>>(clips, static_cast<float*>(patches), targets, s.frames,
                                                         s.height, s.width, s.tubelet, s.patch, gh, gw, n_tokens);
  }
  check_launch("patchify_cuda");
}

}  // namespace tats::kernels
