// Decoder input assembly: visible features then mask tokens, each plus its position (VideoMAE
// order: x_full = cat([x_vis + pos_vis, mask_token + pos_mask], dim=1)).
//
// Layout (contiguous, row-major):
//   vis        [B, Nv, C]  fp32 or bf16 (bf16 on CUDA; the CPU reference is fp32)
//   mask_token [C]         fp32
//   pos        [N, C]      fp32 fixed position table
//   vis_idx    [B, Nv]     int64 token of each visible row;  mask_idx [B, Nm] int64 masked tokens
//   out        [B, Nv+Nm, C] dtype of vis:
//     out[b, j, :]      = vis[b, j, :]   + pos[vis_idx[b, j], :]    j < Nv
//     out[b, Nv + m, :] = mask_token[:]  + pos[mask_idx[b, m], :]   m < Nm      (added in fp32)
// Backward (pos fixed): d vis = dout[:, :Nv, :] (a copy, done by the tensor wrapper);
//   d mask_token[c] = sum over b, m of dout[b, Nv + m, c], summed in fp32 (this kernel).
// Preconditions: B, C >= 1; Nv, Nm >= 0; indices in [0, N).
#pragma once
#include <cstdint>

namespace tats::kernels {

struct DecoderAssembleShape {
  int64_t batch, tokens, visible, masked, channels;  // B, N, Nv, Nm, C
};

// Row blocks of the CUDA mask-token gradient: partial sums [kAssembleChunks, C] then one pass.
constexpr int kAssembleChunks = 64;

void decoder_assemble_cpu(const float* vis, const float* mask_token, const float* pos, const int64_t* vis_idx,
                          const int64_t* mask_idx, float* out, const DecoderAssembleShape& s);
void decoder_assemble_backward_cpu(const float* dout, float* d_mask_token, const DecoderAssembleShape& s);

#ifdef TATS_WITH_CUDA
// One block per output row, threads along C. `bf16` selects bf16 vis/out.
void decoder_assemble_cuda(const void* vis, bool bf16, const float* mask_token, const float* pos,
                           const int64_t* vis_idx, const int64_t* mask_idx, void* out, const DecoderAssembleShape& s,
                           void* stream);
// dout [B, Nv+Nm, C] (bf16 when `bf16`); partial: fp32 workspace [kAssembleChunks, C];
// d_mask_token fp32 [C]. Fixed summation order (deterministic).
void decoder_assemble_backward_cuda(const void* dout, bool bf16, float* partial, float* d_mask_token,
                                    const DecoderAssembleShape& s, void* stream);
#endif

}  // namespace tats::kernels
