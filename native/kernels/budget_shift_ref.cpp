// CPU reference of budget_shift.h: bisection, then Newton, one row at a time in plain loops.
#include <cmath>

#include "kernels/budget_shift.h"

namespace tats::kernels {

namespace {

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// min / max that keep a NaN once seen (as libtorch's reductions do).
double nan_min(double a, double b) { return (a < b || std::isnan(a)) ? a : b; }
double nan_max(double a, double b) { return (a > b || std::isnan(a)) ? a : b; }

}  // namespace

void budget_shift_cpu(const double* s, double* c, const BudgetShiftShape& shape) {
  const int64_t N = shape.tokens;
  const double k = static_cast<double>(shape.k);
  for (int64_t b = 0; b < shape.rows; ++b) {
    const double* x = s + b * N;  // row b: [N]
    double mn = x[0], mx = x[0];
    for (int64_t i = 1; i < N; ++i) {
      mn = nan_min(mn, x[i]);
      mx = nan_max(mx, x[i]);
    }
    // f(c) = sum_i sigmoid(x_i - c) falls from ~N at lo to ~0 at hi: keep f(lo) > k >= f(hi).
    double lo = mn - kBudgetBracket, hi = mx + kBudgetBracket;
    for (int it = 0; it < kBudgetBisections; ++it) {
      const double mid = (lo + hi) * 0.5;
      double f = 0.0;
      for (int64_t i = 0; i < N; ++i) f += sigmoid(x[i] - mid);
      if (f > k) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    double cb = (lo + hi) * 0.5;
    for (int it = 0; it < kBudgetNewtonSteps; ++it) {
      double sum_q = 0.0, slope = 0.0;  // f(cb) and -f'(cb)
      for (int64_t i = 0; i < N; ++i) {
        const double q = sigmoid(x[i] - cb);
        sum_q += q;
        slope += q * (1.0 - q);
      }
      slope = slope < kBudgetMinSlope ? kBudgetMinSlope : slope;  // NaN stays NaN
      const double next = cb + (sum_q - k) / slope;
      // Clamped to the bracket as max(next, lo) then min(., hi); a NaN step stays NaN.
      const double above_lo = lo > next ? lo : next;
      cb = hi < above_lo ? hi : above_lo;
    }
    c[b] = cb;
  }
}

}  // namespace tats::kernels
