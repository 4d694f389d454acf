#include "kernels/counter_uniform_op.h"

#include "kernels/counter_uniform.h"
#include "kernels/op_util.h"

namespace tats::ops {

torch::Tensor counter_uniform(int64_t rows, int64_t cols, uint64_t seed, uint64_t offset, uint64_t row_base,
                              const torch::Device& device) {
  TORCH_CHECK(rows >= 0 && cols >= 0, "counter_uniform: rows and cols must be >= 0, got ", rows, " and ", cols);
  auto out = torch::empty({rows, cols}, torch::TensorOptions().dtype(torch::kDouble).device(device));
  const kernels::CounterUniformShape s{rows, cols, seed, offset, row_base};
  if (device.is_cuda()) {
    TATS_REQUIRE_CUDA_BUILD("counter_uniform");
#ifdef TATS_WITH_CUDA
    const c10::cuda::CUDAGuard guard(device);
    kernels::counter_uniform_cuda(out.data_ptr<double>(), s, detail::current_stream());
#endif
    return out;
  }
  kernels::counter_uniform_cpu(out.data_ptr<double>(), s);
  return out;
}

std::vector<ParityReport> counter_uniform_parity(uint64_t seed) {
  // A base clip's 1568 tokens plus the offset column, 6 rows from row 1000 of a large batch.
  const auto want = counter_uniform(6, 1569, seed, 17, 1000, torch::kCPU);
  const auto got = counter_uniform(6, 1569, seed, 17, 1000, torch::Device(torch::kCUDA));
  return {compare("counter_uniform", "uniform", got, want, 0, 0)};
}

}  // namespace tats::ops
