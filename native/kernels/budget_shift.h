// The budget shift of the TATS policy (core/tats_sampler.h, budget_logits): for each row b of scores
// s [B, N], the c_b with
//   f(c) = sum_i sigmoid(s_i - c) = k,   sigmoid(x) = 1 / (1 + exp(-x)), all in fp64.
// f falls monotonically from ~N to ~0, so the root is bracketed and found by the same fixed steps in
// the reference, the kernel and the libtorch composition they are checked against (budget_shift_op.cpp):
//   lo = min_i s_i - kBudgetBracket, hi = max_i s_i + kBudgetBracket
//   kBudgetBisections times: mid = (lo + hi) * 0.5; if f(mid) > k then lo = mid else hi = mid
//   c = (lo + hi) * 0.5
//   kBudgetNewtonSteps times: q_i = sigmoid(s_i - c);
//     c = min(max(c + (sum q - k) / max(sum q (1 - q), kBudgetMinSlope), lo), hi)
// Fixed counts: no data-dependent stopping, so nothing waits on the host.
// Only the order of the fp64 sums differs between implementations; it can flip a bisection decision
// only at a midpoint where |f(mid) - k| is at the rounding level, and Newton then lands on the same
// root to within that rounding divided by the slope sum q (1 - q).
//
// Layout (contiguous, row-major):
//   s  float32 or float64 [B, N]   scores (read as fp64)
//   c  float64 [B]                 the shift per row
// Preconditions: N >= 2, 1 <= k < N. A NaN score gives a NaN shift for its row (min/max propagate
// NaN, as libtorch's do), so the callers' non-finite guards see it.
#pragma once
#include <cstdint>

namespace tats::kernels {

// 30 halvings shrink the bracket below 1e-6 for any score range under ~1000; Newton from there
// reaches fp64 rounding in two or three steps.
constexpr int kBudgetBisections = 30;
constexpr int kBudgetNewtonSteps = 3;
constexpr double kBudgetBracket = 40.0;    // sigmoid(40) = 1 - 4e-18: every token in (or out) at the ends
constexpr double kBudgetMinSlope = 1e-300;  // keeps the Newton step finite where every q is 0 or 1

struct BudgetShiftShape {
  int64_t rows = 0, tokens = 0;  // B, N
  int64_t k = 0;                 // the masked count per row
};

// Plain loops over fp64 scores, row after row; sums in token order.
void budget_shift_cpu(const double* s, double* c, const BudgetShiftShape& shape);

#ifdef TATS_WITH_CUDA
// One block per row; each thread strides over the row, block sums by warp shuffles + shared memory.
// `s` is float64 when `f64`, else float32.
void budget_shift_cuda(const void* s, bool f64, double* c, const BudgetShiftShape& shape, void* stream);
#endif

}  // namespace tats::kernels
