#include "kernels/gumbel_topk_op.h"

#include <cmath>

#include "kernels/gumbel_topk.h"
#ifdef TATS_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>
#endif

namespace tats::ops {

MaskDraw gumbel_topk(const torch::Tensor& logits, int64_t k, double tau, uint64_t seed, uint64_t offset,
                     uint64_t row_base) {
  return gumbel_topk(logits, k, tau, seed, offset, torch::Tensor(), row_base);
}

MaskDraw gumbel_topk(const torch::Tensor& logits, int64_t k, double tau, uint64_t seed, uint64_t offset,
                     const torch::Tensor& device_seed, uint64_t row_base) {
  TORCH_CHECK(logits.dim() == 2, "gumbel_topk: logits must be [B,N], got ", logits.sizes());
  TORCH_CHECK(logits.scalar_type() == torch::kFloat, "gumbel_topk: logits must be float32, got ",
              logits.scalar_type());
  const int64_t B = logits.size(0), N = logits.size(1);
  TORCH_CHECK(N >= 1, "gumbel_topk: need at least one token per row");
  TORCH_CHECK(k >= 0 && k <= N, "gumbel_topk: k (", k, ") must be in [0, ", N, "]");
  TORCH_CHECK(tau > 0 && std::isfinite(tau), "gumbel_topk: tau must be positive and finite, got ", tau);
  if (device_seed.defined()) {
    TORCH_CHECK(device_seed.numel() == 1 && device_seed.scalar_type() == torch::kLong,
                "gumbel_topk: device_seed must be one int64, got ", device_seed.scalar_type(), " ",
                device_seed.sizes());
    TORCH_CHECK(device_seed.device() == logits.device(), "gumbel_topk: device_seed must be on ", logits.device(),
                ", got ", device_seed.device());
  }
  const auto src = logits.detach().contiguous();
  const auto opts = src.options().dtype(torch::kLong);
  MaskDraw out{torch::empty({B, k}, opts), torch::empty({B, N - k}, opts)};
  kernels::GumbelTopkShape shape{B, N, k, tau, seed, offset, row_base};
  if (src.is_cuda()) {
#ifdef TATS_WITH_CUDA
    TORCH_CHECK(N <= kernels::kGumbelTopkMaxTokens, "gumbel_topk: the CUDA kernel takes at most ",
                kernels::kGumbelTopkMaxTokens, " tokens per row, got ", N);
    const c10::cuda::CUDAGuard guard(src.device());
    const auto dev_seed = device_seed.defined() ? device_seed.contiguous() : torch::Tensor();
    kernels::gumbel_topk_cuda(src.data_ptr<float>(), out.masked.data_ptr<int64_t>(),
                              out.visible.data_ptr<int64_t>(), shape,
                              dev_seed.defined() ? dev_seed.data_ptr<int64_t>() : nullptr,
                              at::cuda::getCurrentCUDAStream().stream());
#else
    TORCH_CHECK(false, "gumbel_topk: this build has no CUDA kernels");
#endif
    return out;
  }
  TORCH_CHECK(src.is_cpu(), "gumbel_topk: logits must be on CPU or CUDA");
  if (device_seed.defined()) shape.seed += static_cast<uint64_t>(device_seed.item<int64_t>());
  kernels::gumbel_topk_cpu(src.data_ptr<float>(), out.masked.data_ptr<int64_t>(), out.visible.data_ptr<int64_t>(),
                           shape);
  return out;
}

std::vector<ParityReport> gumbel_topk_parity(uint64_t seed) {
  torch::Generator gen = at::detail::createCPUGenerator(seed);
  std::vector<ParityReport> reports;
  // (B, N, k, tau): the base clip (1568 tokens, 90% masked), a non-power-of-two small row, the
  // largest row the kernel takes, and the k = 0 / k = N edges.
  const struct { int64_t B, N, k; double tau; } cases[] = {
      {3, 1568, 1411, 1.0}, {5, 37, 9, 0.5}, {2, 4096, 3686, 2.0}, {2, 300, 0, 1.0}, {2, 300, 300, 1.0}};
  for (const auto& c : cases) {
    const auto logits = torch::randn({c.B, c.N}, gen) * 3.0;
    const auto want = gumbel_topk(logits, c.k, c.tau, seed * 7919 + 11, seed);
    const auto got = gumbel_topk(logits.to(torch::kCUDA), c.k, c.tau, seed * 7919 + 11, seed);
    const std::string tag = "N" + std::to_string(c.N) + "_k" + std::to_string(c.k);
    // Index lists are integers: exact. Keys are double on both sides; only a 1-ulp difference in
    // log() could reorder two keys, which random logits make vanishingly unlikely.
    // (An empty list, k = 0 or k = N, has nothing to compare and would read as a failed row.)
    if (c.k > 0) reports.push_back(compare("gumbel_topk", "masked_" + tag, got.masked, want.masked, 0, 0));
    if (c.k < c.N) reports.push_back(compare("gumbel_topk", "visible_" + tag, got.visible, want.visible, 0, 0));
  }
  // The device-seed form draws what the host-seed form draws for seed + *device_seed.
  const auto logits = torch::randn({2, 500}, gen);
  const auto want = gumbel_topk(logits, 450, 1.0, seed + 7, 10);
  const auto got = gumbel_topk(logits.to(torch::kCUDA), 450, 1.0, seed, 10,
                               torch::full({1}, 7, torch::dtype(torch::kLong).device(torch::kCUDA)));
  reports.push_back(compare("gumbel_topk", "masked_device_seed", got.masked, want.masked, 0, 0));
  reports.push_back(compare("gumbel_topk", "visible_device_seed", got.visible, want.visible, 0, 0));
  // A data-parallel slice: rows 3..4 of a 5-row draw, drawn alone with row_base 3 on the device.
  const auto whole = torch::randn({5, 700}, gen);
  const auto full = gumbel_topk(whole, 630, 1.0, seed, 3);
  const auto part = gumbel_topk(whole.narrow(0, 3, 2).to(torch::kCUDA), 630, 1.0, seed, 3, /*row_base=*/3);
  reports.push_back(compare("gumbel_topk", "masked_row_base", part.masked, full.masked.narrow(0, 3, 2), 0, 0));
  return reports;
}

}  // namespace tats::ops
