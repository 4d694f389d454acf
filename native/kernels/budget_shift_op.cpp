#include "kernels/budget_shift_op.h"

#include <algorithm>
#include <sstream>
#include <string>

#include "kernels/budget_shift.h"
#include "kernels/op_util.h"

namespace tats::ops {

namespace {
constexpr int64_t kCpuGrainScores = 16384;
}  // namespace

torch::Tensor budget_shift(const torch::Tensor& s, int64_t k) {
  TORCH_CHECK(s.dim() == 2, "budget_shift: s must be [B, N], got ", s.sizes());
  const int64_t B = s.size(0), N = s.size(1);
  TORCH_CHECK(N >= 2 && k >= 1 && k < N, "budget_shift: k must be in [1, N) with N >= 2, got k = ", k, " for N = ", N);
  TORCH_CHECK(s.scalar_type() == torch::kFloat || s.scalar_type() == torch::kDouble,
              "budget_shift: s must be float32 or float64, got ", s.scalar_type());
  TORCH_CHECK(s.is_cpu() || s.is_cuda(), "budget_shift: s must be on CPU or CUDA, got ", s.device());
  auto c = torch::empty({B, 1}, s.options().dtype(torch::kDouble).requires_grad(false));
  if (s.is_cuda()) {
    TATS_REQUIRE_CUDA_BUILD("budget_shift");
#ifdef TATS_WITH_CUDA
    const auto x = s.detach().contiguous();
    const c10::cuda::CUDAGuard guard(x.device());
    kernels::budget_shift_cuda(x.data_ptr(), x.scalar_type() == torch::kDouble, c.data_ptr<double>(), {B, N, k},
                               detail::current_stream());
#endif
    return c;
  }
  const auto x = s.detach().to(torch::kDouble).contiguous();
  const double* xp = x.data_ptr<double>();
  double* cp = c.data_ptr<double>();
  // Rows are independent: the reference on blocks of rows over libtorch's intra-op threads (as the
  // composition's elementwise ops were); at least ~16k scores per task.
  const int64_t grain = std::max<int64_t>(1, kCpuGrainScores / N);
  at::parallel_for(0, B, grain, [&](int64_t b0, int64_t b1) {
    kernels::budget_shift_cpu(xp + b0 * N, cp + b0, {b1 - b0, N, k});
  });
  return c;
}

torch::Tensor budget_shift_composed(const torch::Tensor& s, int64_t k) {
  TORCH_CHECK(s.dim() == 2 && k >= 1 && k < s.size(1), "budget_shift_composed: s must be [B, N] and k in [1, N), got ",
              s.sizes(), " and k = ", k);
  torch::NoGradGuard no_grad;
  const auto x = s.detach().to(torch::kDouble);
  const double kd = static_cast<double>(k);
  auto lo = std::get<0>(x.min(1, /*keepdim=*/true)) - kernels::kBudgetBracket;
  auto hi = std::get<0>(x.max(1, /*keepdim=*/true)) + kernels::kBudgetBracket;
  for (int i = 0; i < kernels::kBudgetBisections; ++i) {
    const auto mid = (lo + hi) * 0.5;
    const auto above = torch::sigmoid(x - mid).sum(1, /*keepdim=*/true) > kd;
    lo = torch::where(above, mid, lo);
    hi = torch::where(above, hi, mid);
  }
  auto c = (lo + hi) * 0.5;
  for (int i = 0; i < kernels::kBudgetNewtonSteps; ++i) {
    const auto q = torch::sigmoid(x - c);
    const auto slope = (q * (1.0 - q)).sum(1, /*keepdim=*/true).clamp_min(kernels::kBudgetMinSlope);
    c = torch::min(torch::max(c + (q.sum(1, /*keepdim=*/true) - kd) / slope, lo), hi);
  }
  return c;
}

namespace {

// Tolerances. The implementations differ only in the order of their fp64 sums (~1e-13 apart at
// N = 1568), which moves the root by that over the slope f'(c) = -sum q (1 - q). So c is compared
// as |dc| * min(slope, 1) <= kShiftTol: an absolute 1e-9 on c where the row is well conditioned
// (slope >= 1, any row with a token near c), relaxed by 1 / slope where few tokens sit near c
// (a handful of tokens spread over +-50), i.e. the two shifts' budgets differ by <= 1e-9 tokens.
// Measured, CPU reference vs composition, seeds 1-8: |dc| * min(slope, 1) <= 2.5e-12; the bare |dc|
// reached 8.4e-10 on an N = 8, +-50 row whose slope is ~1e-6.
constexpr double kShiftTol = 1e-9;
constexpr double kResidualTol = 1e-6;  // |sum_i sigmoid(s_i - c) - k| per row (measured <= 5e-12)

struct ShiftCase {
  int64_t B, N, k;  // k <= 0: drawn in [1, N)
  double scale;     // scores uniform in [-scale, scale]; 0: every score of a row one random constant
};

// A base clip's 1568 tokens at 90% and 10%, small rows, the k = 1 and k = N - 1 edges, scores from
// near-uniform (0.01, the policy at init is exactly uniform) to +-50 (a confident policy).
const ShiftCase kCases[] = {{1, 8, 1, 1.0},       {3, 8, 7, 50.0},    {8, 37, 0, 3.0},     {4, 256, 230, 50.0},
                            {8, 1568, 1411, 1.0}, {2, 1568, 157, 50.0}, {5, 1000, 0, 0.01}, {3, 300, 150, 0.0},
                            {6, 999, 998, 10.0}};

torch::Tensor case_scores(const ShiftCase& sc, torch::ScalarType dtype, torch::Generator& gen) {
  const auto f64 = torch::TensorOptions().dtype(torch::kDouble);
  const auto s = sc.scale > 0 ? (torch::rand({sc.B, sc.N}, gen, f64) * 2.0 - 1.0) * sc.scale
                              : (torch::rand({sc.B, 1}, gen, f64) * 4.0 - 2.0).expand({sc.B, sc.N}).contiguous();
  return s.to(dtype);
}

int64_t case_k(const ShiftCase& sc, torch::Generator& gen) {
  return sc.k > 0 ? sc.k : torch::randint(1, sc.N, {1}, gen).item<int64_t>();
}

std::string case_tag(const ShiftCase& sc, int64_t k, torch::ScalarType dtype) {
  std::ostringstream os;
  os << "B" << sc.B << "_N" << sc.N << "_k" << k << "_";
  if (sc.scale > 0) {
    os << "pm" << sc.scale;
  } else {
    os << "const";
  }
  os << (dtype == torch::kDouble ? "_f64" : "_f32");
  return os.str();
}

// sum_i sigmoid(s_i - c) per row against k, in fp64 on the CPU.
ParityReport residual(const std::string& tag, const torch::Tensor& s, const torch::Tensor& c, int64_t k) {
  const auto x = s.to(torch::kCPU, torch::kDouble);
  const auto f = torch::sigmoid(x - c.to(torch::kCPU)).sum(1, /*keepdim=*/true);
  return compare("budget_shift", "residual_" + tag, f, torch::full_like(f, static_cast<double>(k)), kResidualTol, 0);
}

// c against the wanted c, both scaled by min(slope at the wanted c, 1) (see kShiftTol).
ParityReport shift(const std::string& tag, const torch::Tensor& s, const torch::Tensor& got,
                   const torch::Tensor& want_any) {
  const auto x = s.to(torch::kCPU, torch::kDouble), want = want_any.to(torch::kCPU);
  const auto q = torch::sigmoid(x - want);
  const auto w = (q * (1.0 - q)).sum(1, /*keepdim=*/true).clamp_max(1.0);
  return compare("budget_shift", "c_" + tag, got.to(torch::kCPU) * w, want * w, kShiftTol, 0);
}

}  // namespace

std::vector<ParityReport> budget_shift_check(uint64_t seed) {
  torch::Generator gen = at::detail::createCPUGenerator(seed);
  std::vector<ParityReport> reports;
  for (const auto& sc : kCases) {
    for (const auto dtype : {torch::kFloat, torch::kDouble}) {
      const auto s = case_scores(sc, dtype, gen);
      const int64_t k = case_k(sc, gen);
      const auto tag = case_tag(sc, k, dtype);
      const auto got = budget_shift(s, k);
      reports.push_back(shift(tag, s, got, budget_shift_composed(s, k)));
      reports.push_back(residual(tag, s, got, k));
    }
  }
  return reports;
}

std::vector<ParityReport> budget_shift_parity(uint64_t seed) {
  torch::Generator gen = at::detail::createCPUGenerator(seed);
  std::vector<ParityReport> reports;
  for (const auto& sc : kCases) {
    for (const auto dtype : {torch::kFloat, torch::kDouble}) {
      const auto s = case_scores(sc, dtype, gen);
      const int64_t k = case_k(sc, gen);
      const auto tag = case_tag(sc, k, dtype);
      const auto got = budget_shift(s.to(torch::kCUDA), k);
      TORCH_CHECK(got.is_cuda() && got.scalar_type() == torch::kDouble && got.size(0) == sc.B && got.size(1) == 1,
                  "budget_shift_parity: the CUDA op returned ", got.sizes(), " ", got.scalar_type(), " on ",
                  got.device());
      reports.push_back(shift(tag, s, got, budget_shift(s, k)));
      reports.push_back(residual(tag, s, got, k));
    }
  }
  return reports;
}

}  // namespace tats::ops
