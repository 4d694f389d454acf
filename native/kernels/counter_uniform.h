// Uniform noise from the counter-based generator (counter_rng.h), one value per (row, column):
//   out[b * cols + i] = counter_uniform(counter_bits(seed, offset, row_base + b, i)),  float64 in (0, 1).
// The budgeted Bernoulli draw (core/budgeted_draw.h) takes its random token order and its
// systematic offset from it. Keyed by the global row (row_base + b), so that a data-parallel rank
// draws exactly what one process draws for the same rows; the same keys give the same bits on CPU
// and CUDA (parity is exact).
#pragma once
#include <cstdint>

namespace tats::kernels {

struct CounterUniformShape {
  int64_t rows = 0, cols = 0;
  uint64_t seed = 0, offset = 0, row_base = 0;
};

void counter_uniform_cpu(double* out, const CounterUniformShape& s);

#ifdef TATS_WITH_CUDA
// One thread per element.
void counter_uniform_cuda(double* out, const CounterUniformShape& s, void* stream);
#endif

}  // namespace tats::kernels
