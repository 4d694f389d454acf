#include "kernels/gather_visible_op.h"

#include "kernels/gather_visible.h"
#include "kernels/op_util.h"

namespace tats::ops {

namespace {

torch::Tensor forward_impl(const torch::Tensor& x_in, const torch::Tensor& pos_in, const torch::Tensor& idx_in) {
  const int64_t B = x_in.size(0), N = x_in.size(1), C = x_in.size(2), Nv = idx_in.size(1);
  const auto x = x_in.contiguous(), pos = pos_in.contiguous(), idx = idx_in.contiguous();
  const kernels::GatherVisibleShape s{B, N, Nv, C};
  if (x.is_cuda()) {
    TATS_REQUIRE_CUDA_BUILD("gather_visible");
    auto out = torch::empty({B, Nv, C}, x.options());
#ifdef TATS_WITH_CUDA
    const c10::cuda::CUDAGuard guard(x.device());
    kernels::gather_visible_cuda(x.data_ptr(), x.scalar_type() == torch::kBFloat16, pos.data_ptr<float>(),
                                 idx.data_ptr<int64_t>(), out.data_ptr(), s, detail::current_stream());
#endif
    return out;
  }
  const auto x32 = x.to(torch::kFloat).contiguous();
  auto out = torch::empty({B, Nv, C}, x32.options());
  kernels::gather_visible_cpu(x32.data_ptr<float>(), pos.data_ptr<float>(), idx.data_ptr<int64_t>(),
                              out.data_ptr<float>(), s);
  return out.to(x.scalar_type());
}

struct GatherVisibleFn : public torch::autograd::Function<GatherVisibleFn> {
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                                                const torch::Tensor& pos, const torch::Tensor& idx) {
    ctx->save_for_backward({idx});
    ctx->saved_data["tokens"] = x.size(1);
    return {forward_impl(x, pos, idx)};
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto idx = ctx->get_saved_variables()[0];
    return {gather_visible_backward(grads[0], idx, ctx->saved_data["tokens"].toInt()), torch::Tensor(),
            torch::Tensor()};
  }
};

}  // namespace

torch::Tensor gather_visible(const torch::Tensor& x, const torch::Tensor& pos, const torch::Tensor& visible) {
  TORCH_CHECK(x.dim() == 3, "gather_visible: x must be [B,N,C], got ", x.sizes());
  TORCH_CHECK(pos.dim() == 2 && pos.size(0) == x.size(1) && pos.size(1) == x.size(2),
              "gather_visible: pos must be [N,C] = [", x.size(1), ",", x.size(2), "], got ", pos.sizes());
  TORCH_CHECK(visible.dim() == 2 && visible.size(0) == x.size(0), "gather_visible: visible must be [B,Nv] with B = ",
              x.size(0), ", got ", visible.sizes());
  TORCH_CHECK(x.size(0) >= 1 && x.size(1) >= 1 && x.size(2) >= 1 && visible.size(1) >= 1,
              "gather_visible: empty input x ", x.sizes(), ", visible ", visible.sizes());
  TORCH_CHECK(detail::is_float_or_bf16(x), "gather_visible: x must be float32 or bfloat16, got ", x.scalar_type());
  TORCH_CHECK(pos.scalar_type() == torch::kFloat, "gather_visible: pos must be float32, got ", pos.scalar_type());
  detail::check_same_device("gather_visible", {&x, &pos, &visible});
  detail::check_index("gather_visible", "visible", visible, x.size(1));
  return GatherVisibleFn::apply(x, pos.detach(), visible)[0];
}

torch::Tensor gather_visible_backward(const torch::Tensor& dout_in, const torch::Tensor& visible_in, int64_t tokens) {
  TORCH_CHECK(dout_in.dim() == 3 && visible_in.dim() == 2 && dout_in.size(0) == visible_in.size(0) &&
                  dout_in.size(1) == visible_in.size(1),
              "gather_visible_backward: dout ", dout_in.sizes(), " does not match visible ", visible_in.sizes());
  TORCH_CHECK(detail::is_float_or_bf16(dout_in), "gather_visible_backward: dout must be float32 or bfloat16");
  detail::check_same_device("gather_visible_backward", {&dout_in, &visible_in});
  detail::check_index("gather_visible_backward", "visible", visible_in, tokens);
  const auto dout = dout_in.contiguous(), idx = visible_in.contiguous();
  const int64_t B = dout.size(0), Nv = dout.size(1), C = dout.size(2);
  const kernels::GatherVisibleShape s{B, tokens, Nv, C};
  if (dout.is_cuda()) {
    TATS_REQUIRE_CUDA_BUILD("gather_visible_backward");
    auto dx = torch::zeros({B, tokens, C}, dout.options());
#ifdef TATS_WITH_CUDA
    const c10::cuda::CUDAGuard guard(dout.device());
    kernels::gather_visible_backward_cuda(dout.data_ptr(), dout.scalar_type() == torch::kBFloat16,
                                          idx.data_ptr<int64_t>(), dx.data_ptr(), s, detail::current_stream());
#endif
    return dx;
  }
  const auto d32 = dout.to(torch::kFloat).contiguous();
  auto dx = torch::zeros({B, tokens, C}, d32.options());
  kernels::gather_visible_backward_cpu(d32.data_ptr<float>(), idx.data_ptr<int64_t>(), dx.data_ptr<float>(), s);
  return dx.to(dout.scalar_type());
}

namespace {

torch::Tensor random_rows(int64_t B, int64_t N, int64_t k, torch::Generator& gen) {
  std::vector<torch::Tensor> rows;
  for (int64_t b = 0; b < B; ++b)
    rows.push_back(std::get<0>(torch::randperm(N, gen, torch::kLong).slice(0, 0, k).sort()));
  return torch::stack(rows);
}

}  // namespace

std::vector<ParityReport> gather_visible_parity(uint64_t seed) {
  torch::Generator gen = at::detail::createCPUGenerator(seed);
  const int64_t B = 3, N = 196, Nv = 20, C = 200;  // C not a multiple of 32/128 on purpose
  const auto x = torch::randn({B, N, C}, gen), pos = torch::randn({N, C}, gen);
  const auto idx = random_rows(B, N, Nv, gen);
  const auto dout = torch::randn({B, Nv, C}, gen);
  const torch::Device cuda(torch::kCUDA);
  std::vector<ParityReport> r;
  // fp32: one add, the same on both sides: exact.
  r.push_back(compare("gather_visible", "out_fp32", gather_visible(x.to(cuda), pos.to(cuda), idx.to(cuda)),
                      gather_visible(x, pos, idx), 0, 0));
  // The backward is a copy: exact.
  r.push_back(compare("gather_visible", "dx_fp32", gather_visible_backward(dout.to(cuda), idx.to(cuda), N),
                      gather_visible_backward(dout, idx, N), 0, 0));
  // bf16: both sides upcast the same bf16 x, add in fp32 and round once: equal up to a rounding tie
  // broken differently (1 bf16 ulp, 2^-8 relative).
  const auto x16 = x.to(torch::kBFloat16), d16 = dout.to(torch::kBFloat16);
  r.push_back(compare("gather_visible", "out_bf16", gather_visible(x16.to(cuda), pos.to(cuda), idx.to(cuda)),
                      gather_visible(x16, pos, idx), 1e-6, 4e-3));
  r.push_back(compare("gather_visible", "dx_bf16", gather_visible_backward(d16.to(cuda), idx.to(cuda), N),
                      gather_visible_backward(d16, idx, N), 0, 0));
  return r;
}

std::vector<ParityReport> gather_visible_check(uint64_t seed) {
  torch::Generator gen = at::detail::createCPUGenerator(seed);
  const int64_t B = 2, N = 30, Nv = 7, C = 12;
  const auto x = torch::randn({B, N, C}, gen), pos = torch::randn({N, C}, gen);
  const auto idx = random_rows(B, N, Nv, gen);
  const auto w = torch::randn({B, Nv, C}, gen);
  // Composed: index each row with libtorch's gather and add the indexed position rows.
  auto xa = x.clone().requires_grad_(true);
  const auto ix = idx.unsqueeze(-1).expand({B, Nv, C});
  const auto want = torch::gather(xa, 1, ix) + pos.index_select(0, idx.view(-1)).view({B, Nv, C});
  (want * w).sum().backward();
  auto xb = x.clone().requires_grad_(true);
  const auto got = gather_visible(xb, pos, idx);
  (got * w).sum().backward();
  // fp32, the same single add: exact; the gradient is a scatter of w: exact.
  return {compare("gather_visible", "out", got, want, 0, 0),
          compare("gather_visible", "dx", xb.grad(), xa.grad(), 0, 0)};
}

}  // namespace tats::ops
