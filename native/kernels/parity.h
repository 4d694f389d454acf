// Kernel parity: every CUDA kernel against its CPU reference on random inputs.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace tats::ops {

struct ParityReport {
  std::string kernel;
  std::string output;     // which output of the kernel this row compares
  std::string dtype;      // dtype compared
  int64_t numel = 0;
  double max_abs_diff = 0;
  double max_rel_diff = 0;
  double atol = 0, rtol = 0;
  int64_t mismatches = 0;  // elements with |a-b| > atol + rtol*|ref|
  std::string first_mismatches;  // "i: got vs want" for the first few, empty when none
  bool ok() const { return mismatches == 0 && numel > 0; }
};

// Compares `got` (any device) with `want` (the CPU reference) elementwise.
ParityReport compare(const std::string& kernel, const std::string& output, const torch::Tensor& got,
                     const torch::Tensor& want, double atol, double rtol);

using ParityFn = std::function<std::vector<ParityReport>(uint64_t seed)>;

// Every kernel that has a CUDA version, by name.
const std::vector<std::pair<std::string, ParityFn>>& parity_registry();

// CPU checks: each kernel's CPU reference (forward and backward) against an independent
// computation composed of libtorch ops (autograd for gradients), on random inputs. Runs anywhere.
const std::vector<std::pair<std::string, ParityFn>>& check_registry();

}  // namespace tats::ops
