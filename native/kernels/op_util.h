// Helpers shared by the tensor wrappers (<op>_op.cpp): device dispatch and the current stream.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#ifdef TATS_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>
#endif

#include "kernels/parity.h"

namespace tats::ops::detail {

#ifdef TATS_WITH_CUDA
// The current stream of the current device as the void* the kernels' launchers take.
inline void* current_stream() { return static_cast<void*>(at::cuda::getCurrentCUDAStream().stream()); }
#endif

// Fails with the op's name when a CUDA tensor reaches a build without kernels.
#ifdef TATS_WITH_CUDA
#define TATS_REQUIRE_CUDA_BUILD(op) ((void)0)
#else
#define TATS_REQUIRE_CUDA_BUILD(op) TORCH_CHECK(false, op ": this build has no CUDA kernels")
#endif

inline bool is_float_or_bf16(const torch::Tensor& t) {
  return t.scalar_type() == torch::kFloat || t.scalar_type() == torch::kBFloat16;
}

// All tensors on one device (the first one's).
inline void check_same_device(const char* op, std::initializer_list<const torch::Tensor*> ts) {
  const torch::Device d = (*ts.begin())->device();
  for (const auto* t : ts)
    if (t->defined()) TORCH_CHECK(t->device() == d, op, ": all tensors must be on ", d, ", got one on ", t->device());
}

// A [rows] int64 index tensor: dtype and range on CPU (the CUDA path trusts, to avoid a host sync).
inline void check_index(const char* op, const char* name, const torch::Tensor& idx, int64_t bound) {
  TORCH_CHECK(idx.scalar_type() == torch::kLong, op, ": ", name, " must be int64, got ", idx.scalar_type());
  if (idx.is_cpu() && idx.numel() > 0) {
    const int64_t lo = idx.min().item<int64_t>(), hi = idx.max().item<int64_t>();
    TORCH_CHECK(lo >= 0 && hi < bound, op, ": ", name, " must lie in [0, ", bound, "), got [", lo, ", ", hi, "]");
  }
}

}  // namespace tats::ops::detail
