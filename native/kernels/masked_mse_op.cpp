#include "kernels/masked_mse_op.h"

#include "kernels/masked_mse.h"
#include "kernels/op_util.h"

namespace tats::ops {

namespace {

kernels::MaskedMseShape check_args(const torch::Tensor& pred, const torch::Tensor& target,
                                   const torch::Tensor& masked) {
  TORCH_CHECK(pred.dim() == 3, "masked_mse: pred must be [B,Nm,P], got ", pred.sizes());
  TORCH_CHECK(target.dim() == 3, "masked_mse: target must be [B,N,P], got ", target.sizes());
  TORCH_CHECK(masked.dim() == 2, "masked_mse: masked must be [B,Nm], got ", masked.sizes());
  const int64_t B = pred.size(0), Nm = pred.size(1), P = pred.size(2), N = target.size(1);
  TORCH_CHECK(target.size(0) == B && target.size(2) == P, "masked_mse: target ", target.sizes(),
              " does not match pred ", pred.sizes());
  TORCH_CHECK(masked.size(0) == B && masked.size(1) == Nm, "masked_mse: masked ", masked.sizes(),
              " does not match pred ", pred.sizes());
  TORCH_CHECK(B >= 1 && Nm >= 1 && P >= 1, "masked_mse: empty input ", pred.sizes());
  TORCH_CHECK(detail::is_float_or_bf16(pred), "masked_mse: pred must be float32 or bfloat16, got ",
              pred.scalar_type());
  TORCH_CHECK(target.scalar_type() == torch::kFloat, "masked_mse: target must be float32, got ",
              target.scalar_type());
  detail::check_same_device("masked_mse", {&pred, &target, &masked});
  detail::check_index("masked_mse", "masked", masked, N);
  return {B, N, Nm, P};
}

MaskedMse forward_impl(const torch::Tensor& pred_in, const torch::Tensor& target_in, const torch::Tensor& masked_in) {
  const auto s = check_args(pred_in, target_in, masked_in);
  const auto pred = pred_in.contiguous(), target = target_in.contiguous(), masked = masked_in.contiguous();
  const auto fopts = pred.options().dtype(torch::kFloat);
  MaskedMse out{torch::empty({}, fopts), torch::empty({s.batch, s.masked}, fopts)};
  if (pred.is_cuda()) {
    TATS_REQUIRE_CUDA_BUILD("masked_mse");
#ifdef TATS_WITH_CUDA
    const c10::cuda::CUDAGuard guard(pred.device());
    kernels::masked_mse_cuda(pred.data_ptr(), pred.scalar_type() == torch::kBFloat16, target.data_ptr<float>(),
                             masked.data_ptr<int64_t>(), out.err.data_ptr<float>(), out.loss.data_ptr<float>(), s,
                             detail::current_stream());
#endif
    return out;
  }
  const auto pred32 = pred.to(torch::kFloat).contiguous();
  kernels::masked_mse_cpu(pred32.data_ptr<float>(), target.data_ptr<float>(), masked.data_ptr<int64_t>(),
                          out.err.data_ptr<float>(), out.loss.data_ptr<float>(), s);
  return out;
}

struct MaskedMseFn : public torch::autograd::Function<MaskedMseFn> {
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& pred,
                                                const torch::Tensor& target, const torch::Tensor& masked) {
    auto out = forward_impl(pred, target, masked);
    ctx->save_for_backward({pred, target, masked});
    return {out.loss, out.err};
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    return {masked_mse_backward(saved[0], saved[1], saved[2], grads[0], grads[1]), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

MaskedMse masked_mse(const torch::Tensor& pred, const torch::Tensor& target, const torch::Tensor& masked) {
  check_args(pred, target, masked);
  const auto outs = MaskedMseFn::apply(pred, target.detach(), masked);
  return {outs[0], outs[1]};
}

torch::Tensor masked_mse_backward(const torch::Tensor& pred_in, const torch::Tensor& target_in,
                                  const torch::Tensor& masked_in, const torch::Tensor& g_loss_in,
                                  const torch::Tensor& g_err_in) {
  const auto s = check_args(pred_in, target_in, masked_in);
  const auto pred = pred_in.detach().contiguous(), target = target_in.detach().contiguous();
  const auto masked = masked_in.contiguous();
  torch::Tensor g_loss, g_err;
  if (g_loss_in.defined()) {
    TORCH_CHECK(g_loss_in.numel() == 1, "masked_mse_backward: g_loss must be a scalar, got ", g_loss_in.sizes());
    g_loss = g_loss_in.detach().to(pred.device(), torch::kFloat).contiguous();
  }
  if (g_err_in.defined()) {
    TORCH_CHECK(g_err_in.sizes() == masked.sizes(), "masked_mse_backward: g_err must be ", masked.sizes(), ", got ",
                g_err_in.sizes());
    g_err = g_err_in.detach().to(pred.device(), torch::kFloat).contiguous();
  }
  const float* gl = g_loss.defined() ? g_loss.data_ptr<float>() : nullptr;
  const float* ge = g_err.defined() ? g_err.data_ptr<float>() : nullptr;
  if (pred.is_cuda()) {
    TATS_REQUIRE_CUDA_BUILD("masked_mse_backward");
    auto dpred = torch::empty_like(pred);
#ifdef TATS_WITH_CUDA
    const c10::cuda::CUDAGuard guard(pred.device());
    kernels::masked_mse_backward_cuda(pred.data_ptr(), pred.scalar_type() == torch::kBFloat16,
                                      target.data_ptr<float>(), masked.data_ptr<int64_t>(), gl, ge, dpred.data_ptr(),
                                      s, detail::current_stream());
#endif
    return dpred;
  }
  const auto pred32 = pred.to(torch::kFloat).contiguous();
  auto dpred = torch::empty_like(pred32);
  kernels::masked_mse_backward_cpu(pred32.data_ptr<float>(), target.data_ptr<float>(), masked.data_ptr<int64_t>(), gl,
                                   ge, dpred.data_ptr<float>(), s);
  return dpred.to(pred.scalar_type());
}

namespace {

// Random distinct, ascending masked indices per row: the first Nm of a random permutation, sorted.
torch::Tensor random_masked(int64_t B, int64_t N, int64_t Nm, torch::Generator& gen) {
  std::vector<torch::Tensor> rows;
  for (int64_t b = 0; b < B; ++b)
    rows.push_back(std::get<0>(torch::randperm(N, gen, torch::kLong).slice(0, 0, Nm).sort()));
  return torch::stack(rows);
}

}  // namespace

std::vector<ParityReport> masked_mse_parity(uint64_t seed) {
  torch::Generator gen = at::detail::createCPUGenerator(seed);
  const int64_t B = 3, N = 98, Nm = 88, P = 1536;  // a 98-token clip at 90% masking, base head width
  const auto pred = torch::randn({B, Nm, P}, gen), target = torch::randn({B, N, P}, gen);
  const auto idx = random_masked(B, N, Nm, gen);
  const auto g_loss = torch::rand({}, gen) + 0.5, g_err = torch::rand({B, Nm}, gen) + 0.1;
  std::vector<ParityReport> reports;
  const auto want = masked_mse(pred, target, idx);
  const auto want_d = masked_mse_backward(pred, target, idx, g_loss, g_err);
  const torch::Device cuda(torch::kCUDA);
  const auto got = masked_mse(pred.to(cuda), target.to(cuda), idx.to(cuda));
  const auto got_d = masked_mse_backward(pred.to(cuda), target.to(cuda), idx.to(cuda), g_loss.to(cuda), g_err.to(cuda));
  // fp32: e is a mean of 1536 squares (~2 each) summed in float by a block tree vs double on CPU:
  // relative error ~1e-6; the loss sums 264 of them.
  reports.push_back(compare("masked_mse", "err_fp32", got.err, want.err, 1e-5, 1e-5));
  reports.push_back(compare("masked_mse", "loss_fp32", got.loss, want.loss, 1e-5, 1e-5));
  // dpred is one rounding of an elementwise product: float vs double, ~1 ulp.
  reports.push_back(compare("masked_mse", "dpred_fp32", got_d, want_d, 1e-7, 1e-5));
  // bf16 pred: the same bf16 values on both sides (the reference upcasts them), so the errors agree
  // to fp32 accuracy; dpred is rounded to bf16 (8-bit mantissa: 2^-8 relative).
  const auto pred16 = pred.to(torch::kBFloat16);
  const auto want16 = masked_mse(pred16, target, idx);
  const auto got16 = masked_mse(pred16.to(cuda), target.to(cuda), idx.to(cuda));
  reports.push_back(compare("masked_mse", "err_bf16", got16.err, want16.err, 1e-5, 1e-5));
  const auto want16_d = masked_mse_backward(pred16, target, idx, g_loss, g_err);
  const auto got16_d =
      masked_mse_backward(pred16.to(cuda), target.to(cuda), idx.to(cuda), g_loss.to(cuda), g_err.to(cuda));
  reports.push_back(compare("masked_mse", "dpred_bf16", got16_d, want16_d, 1e-6, 8e-3));
  return reports;
}

std::vector<ParityReport> masked_mse_check(uint64_t seed) {
  torch::Generator gen = at::detail::createCPUGenerator(seed);
  const int64_t B = 2, N = 40, Nm = 30, P = 24;
  const auto target = torch::randn({B, N, P}, gen, torch::kDouble);
  const auto pred = torch::randn({B, Nm, P}, gen, torch::kDouble);
  const auto idx = random_masked(B, N, Nm, gen);
  const auto a = torch::rand({}, gen, torch::kDouble) + 0.5, w = torch::rand({B, Nm}, gen, torch::kDouble);
  // Composed libtorch in double: gather the masked targets, squared error, means; autograd for d pred.
  auto p64 = pred.clone().requires_grad_(true);
  const auto tgt = torch::gather(target, 1, idx.unsqueeze(-1).expand({B, Nm, P}));
  const auto e64 = (p64 - tgt).pow(2).mean(-1);
  const auto l64 = e64.mean();
  (a * l64 + (w * e64).sum()).backward();
  // The op (CPU reference) through autograd, in fp32.
  auto p32 = pred.to(torch::kFloat).requires_grad_(true);
  const auto out = masked_mse(p32, target.to(torch::kFloat), idx);
  (a.to(torch::kFloat) * out.loss + (w.to(torch::kFloat) * out.err).sum()).backward();
  // fp32 inputs rounded from double: relative error ~1e-7 on each term.
  return {compare("masked_mse", "err", out.err, e64, 1e-6, 1e-5),
          compare("masked_mse", "loss", out.loss, l64, 1e-6, 1e-5),
          compare("masked_mse", "dpred", p32.grad(), p64.grad(), 1e-6, 1e-5)};
}

}  // namespace tats::ops
