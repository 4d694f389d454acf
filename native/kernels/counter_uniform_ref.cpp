// CPU reference of counter_uniform.h: the plain double loop.
#include "kernels/counter_rng.h"
#include "kernels/counter_uniform.h"

namespace tats::kernels {

void counter_uniform_cpu(double* out, const CounterUniformShape& s) {
  for (int64_t b = 0; b < s.rows; ++b)
    for (int64_t i = 0; i < s.cols; ++i)
      out[b * s.cols + i] = counter_uniform(counter_bits(s.seed, s.offset, s.row_base + static_cast<uint64_t>(b),
                                                         static_cast<uint64_t>(i)));
}

}  // namespace tats::kernels
