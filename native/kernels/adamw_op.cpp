#include "kernels/adamw_op.h"

#include <cmath>

#include "kernels/adamw.h"
#include "kernels/op_util.h"

namespace tats::ops {

namespace {

void check_flat(const char* op, const char* name, const torch::Tensor& t, int64_t n, const torch::Device& d) {
  TORCH_CHECK(t.defined() && t.scalar_type() == torch::kFloat && t.dim() == 1 && t.is_contiguous(), op, ": ", name,
              " must be a contiguous fp32 1-D tensor");
  TORCH_CHECK(t.numel() == n, op, ": ", name, " has ", t.numel(), " elements, expected ", n);
  TORCH_CHECK(t.device() == d, op, ": ", name, " must be on ", d, ", got ", t.device());
}

void check_scalars(const char* op, const torch::Tensor& scalars, const torch::Device& d) {
  check_flat(op, "scalars", scalars, kernels::kAdamWScalars, d);
}

}  // namespace

torch::Tensor adamw_scalars(const torch::Device& device) {
  return torch::zeros({kernels::kAdamWScalars}, torch::TensorOptions().dtype(torch::kFloat).device(device));
}

torch::Tensor adamw_workspace(const torch::Device& device) {
#ifdef TATS_WITH_CUDA
  if (device.is_cuda())
    return torch::zeros({kernels::kAdamWNormBlocks}, torch::TensorOptions().dtype(torch::kDouble).device(device));
#endif
  return torch::empty({0}, torch::TensorOptions().dtype(torch::kDouble).device(device));
}

void adamw_set_scalars(const torch::Tensor& scalars, double step_size, double sqrt_bc2, double decay_mul) {
  check_scalars("adamw_set_scalars", scalars, scalars.device());
  if (scalars.is_cuda()) {
    TATS_REQUIRE_CUDA_BUILD("adamw_set_scalars");
#ifdef TATS_WITH_CUDA
    const c10::cuda::CUDAGuard guard(scalars.device());
    kernels::adamw_set_scalars_cuda(scalars.data_ptr<float>(), static_cast<float>(step_size),
                                    static_cast<float>(sqrt_bc2), static_cast<float>(decay_mul),
                                    detail::current_stream());
#endif
    return;
  }
  float* s = scalars.data_ptr<float>();
  s[0] = static_cast<float>(step_size);
  s[1] = static_cast<float>(sqrt_bc2);
  s[2] = static_cast<float>(decay_mul);
}

void adamw_grad_norm(const torch::Tensor& grad, const torch::Tensor& scalars, const torch::Tensor& workspace) {
  const auto d = grad.device();
  check_flat("adamw_grad_norm", "grad", grad, grad.numel(), d);
  check_scalars("adamw_grad_norm", scalars, d);
  if (grad.is_cuda()) {
    TATS_REQUIRE_CUDA_BUILD("adamw_grad_norm");
#ifdef TATS_WITH_CUDA
    TORCH_CHECK(workspace.defined() && workspace.scalar_type() == torch::kDouble && workspace.is_contiguous() &&
                    workspace.numel() >= kernels::kAdamWNormBlocks && workspace.device() == d,
                "adamw_grad_norm: workspace must be adamw_workspace(", d, ")");
    const c10::cuda::CUDAGuard guard(d);
    kernels::adamw_grad_norm_cuda(grad.data_ptr<float>(), grad.numel(), workspace.data_ptr<double>(),
                                  scalars.data_ptr<float>(), detail::current_stream());
#endif
    return;
  }
  kernels::adamw_grad_norm_cpu(grad.data_ptr<float>(), grad.numel(), scalars.data_ptr<float>());
}

void adamw_step(const torch::Tensor& param, const torch::Tensor& grad, const torch::Tensor& exp_avg,
                const torch::Tensor& exp_avg_sq, const torch::Tensor& scalars, int64_t decay_numel, double beta1,
                double beta2, double eps, double max_norm) {
  const auto d = param.device();
  const int64_t n = param.numel();
  check_flat("adamw_step", "param", param, n, d);
  check_flat("adamw_step", "grad", grad, n, d);
  check_flat("adamw_step", "exp_avg", exp_avg, n, d);
  check_flat("adamw_step", "exp_avg_sq", exp_avg_sq, n, d);
  check_scalars("adamw_step", scalars, d);
  TORCH_CHECK(decay_numel >= 0 && decay_numel <= n, "adamw_step: decay_numel ", decay_numel, " outside [0, ", n, "]");
  kernels::AdamWShape s;
  s.numel = n;
  s.decay_numel = decay_numel;
  s.beta1 = static_cast<float>(beta1);
  s.beta2 = static_cast<float>(beta2);
  s.eps = static_cast<float>(eps);
  s.max_norm = static_cast<float>(max_norm);
  if (param.is_cuda()) {
    TATS_REQUIRE_CUDA_BUILD("adamw_step");
#ifdef TATS_WITH_CUDA
    const c10::cuda::CUDAGuard guard(d);
    kernels::adamw_step_cuda(param.data_ptr<float>(), grad.data_ptr<float>(), exp_avg.data_ptr<float>(),
                             exp_avg_sq.data_ptr<float>(), scalars.data_ptr<float>(), s, detail::current_stream());
#endif
    return;
  }
  kernels::adamw_step_cpu(param.data_ptr<float>(), grad.data_ptr<float>(), exp_avg.data_ptr<float>(),
                          exp_avg_sq.data_ptr<float>(), scalars.data_ptr<float>(), s);
}

namespace {

struct Hyper {
  double lr = 1e-3, wd = 0.05, beta1 = 0.9, beta2 = 0.95, eps = 1e-8, max_norm = 0.02;
};

// Host-side scalars for 1-based step t, as MaeOptimizer computes them.
void set_for_step(const torch::Tensor& scalars, const Hyper& h, int64_t t) {
  const double bc1 = 1.0 - std::pow(h.beta1, static_cast<double>(t));
  const double bc2 = 1.0 - std::pow(h.beta2, static_cast<double>(t));
  adamw_set_scalars(scalars, h.lr / bc1, std::sqrt(bc2), 1.0 - h.lr * h.wd);
}

}  // namespace

std::vector<ParityReport> adamw_parity(uint64_t seed) {
  torch::Generator gen = at::detail::createCPUGenerator(seed);
  // An odd length (vector body + scalar tail) and a decay boundary that is not a multiple of 4.
  const int64_t n = 1000003, decay = 700001;
  Hyper h;
  h.max_norm = 50.0;  // the random gradient's norm is ~1000: clipping active
  const torch::Device cuda(torch::kCUDA);
  auto p = torch::randn({n}, gen), m = torch::zeros({n}), v = torch::zeros({n});
  auto pc = p.to(cuda), mc = m.to(cuda), vc = v.to(cuda);
  auto s = adamw_scalars(torch::kCPU), sc = adamw_scalars(cuda);
  const auto ws = adamw_workspace(torch::kCPU), wsc = adamw_workspace(cuda);
  std::vector<ParityReport> reports;
  for (int64_t t = 1; t <= 3; ++t) {
    const auto g = torch::randn({n}, gen);
    const auto gc = g.to(cuda);
    set_for_step(s, h, t);
    set_for_step(sc, h, t);
    adamw_grad_norm(g, s, ws);
    adamw_grad_norm(gc, sc, wsc);
    if (t == 1) reports.push_back(compare("adamw", "grad_norm", sc.narrow(0, 3, 1), s.narrow(0, 3, 1), 0, 1e-6));
    adamw_step(p, g, m, v, s, decay, h.beta1, h.beta2, h.eps, h.max_norm);
    adamw_step(pc, gc, mc, vc, sc, decay, h.beta1, h.beta2, h.eps, h.max_norm);
  }
  // fp32 elementwise in the same order on both sides: a few ulp (sqrtf / division rounding, FMA contraction).
  reports.push_back(compare("adamw", "param", pc, p, 1e-6, 1e-5));
  reports.push_back(compare("adamw", "exp_avg", mc, m, 1e-8, 1e-5));
  reports.push_back(compare("adamw", "exp_avg_sq", vc, v, 1e-10, 1e-5));
  // A skipped step (scalars[4] != 0, PPO's early stop) leaves everything as it was, on both sides.
  {
    const auto g = torch::randn({n}, gen);
    const auto before = pc.clone();
    set_for_step(s, h, 4);
    set_for_step(sc, h, 4);
    s.narrow(0, 4, 1).fill_(1.0f);
    sc.narrow(0, 4, 1).fill_(1.0f);
    adamw_step(p, g, m, v, s, decay, h.beta1, h.beta2, h.eps, h.max_norm);
    adamw_step(pc, g.to(cuda), mc, vc, sc, decay, h.beta1, h.beta2, h.eps, h.max_norm);
    reports.push_back(compare("adamw", "skipped_step_param", pc, before, 0, 0));
    reports.push_back(compare("adamw", "skipped_step_cpu_vs_cuda", pc, p, 1e-6, 1e-5));
  }
  return reports;
}

std::vector<ParityReport> adamw_check(uint64_t seed) {
  torch::Generator gen = at::detail::createCPUGenerator(seed);
  Hyper h;
  h.max_norm = 1.0;
  // Two "decay" matrices and two "no decay" vectors, as the optimiser lays them out.
  const std::vector<std::vector<int64_t>> shapes{{7, 5}, {3, 9}, {11}, {6}};
  const std::vector<bool> decays{true, true, false, false};
  std::vector<torch::Tensor> ref_params;
  int64_t n = 0, decay_n = 0;
  for (size_t i = 0; i < shapes.size(); ++i) {
    ref_params.push_back(torch::randn(shapes[i], gen).requires_grad_(true));
    n += ref_params.back().numel();
    if (decays[i]) decay_n += ref_params.back().numel();
  }
  std::vector<torch::Tensor> decay_group{ref_params[0], ref_params[1]}, plain_group{ref_params[2], ref_params[3]};
  auto opts = [&](double wd) {
    return std::make_unique<torch::optim::AdamWOptions>(
        torch::optim::AdamWOptions(h.lr).betas({h.beta1, h.beta2}).eps(h.eps).weight_decay(wd));
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay_group, opts(h.wd));
  groups.emplace_back(plain_group, opts(0.0));
  torch::optim::AdamW reference(groups, torch::optim::AdamWOptions(h.lr));
  std::vector<torch::Tensor> flat_p;
  for (const auto& p : ref_params) flat_p.push_back(p.detach().reshape({-1}));
  auto p = torch::cat(flat_p), m = torch::zeros({n}), v = torch::zeros({n});
  auto s = adamw_scalars(torch::kCPU);
  const auto ws = adamw_workspace(torch::kCPU);
  std::vector<ParityReport> reports;
  for (int64_t t = 1; t <= 3; ++t) {
    std::vector<torch::Tensor> grads;
    for (const auto& rp : ref_params) grads.push_back(torch::randn(rp.sizes(), gen) * 0.5);
    std::vector<torch::Tensor> flat_g;
    for (size_t i = 0; i < grads.size(); ++i) {
      ref_params[i].mutable_grad() = grads[i].clone();
      flat_g.push_back(grads[i].reshape({-1}));
    }
    // torch.nn.utils.clip_grad_norm_ composed: total norm, scale by min(1, max / (norm + 1e-6)).
    std::vector<torch::Tensor> norms;
    for (const auto& rp : ref_params) norms.push_back(rp.grad().norm(2));
    const auto total = torch::stack(norms).norm(2);
    const auto coef = (h.max_norm / (total + 1e-6)).clamp_max(1.0);
    for (const auto& rp : ref_params) rp.grad().mul_(coef);
    reference.step();
    const auto g = torch::cat(flat_g);
    set_for_step(s, h, t);
    adamw_grad_norm(g, s, ws);
    if (t == 1) reports.push_back(compare("adamw", "grad_norm", s.narrow(0, 3, 1), total.reshape({1}), 1e-7, 1e-6));
    adamw_step(p, g, m, v, s, decay_n, h.beta1, h.beta2, h.eps, h.max_norm);
  }
  std::vector<torch::Tensor> want;
  for (const auto& rp : ref_params) want.push_back(rp.detach().reshape({-1}));
  // Same fp32 formula; libtorch's scalars are doubles rounded per op: a few ulp.
  reports.push_back(compare("adamw", "param_vs_torch_adamw", p, torch::cat(want), 1e-6, 1e-5));
  return reports;
}

}  // namespace tats::ops
