// Counter-based random numbers shared by the CPU references and the CUDA kernels: the same
// (seed, offset, row, index) gives the same bits on both, so index sets can be compared exactly.
// splitmix64's finaliser, applied once per key word (a keyed hash, not a stream).
#pragma once
#include <cstdint>

#ifdef __CUDACC__
#define TATS_HD __host__ __device__ __forceinline__
#else
#define TATS_HD inline
#endif

namespace tats::kernels {

TATS_HD uint64_t splitmix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// 64 random bits for element i of row `row` in draw `offset` of stream `seed`.
TATS_HD uint64_t counter_bits(uint64_t seed, uint64_t offset, uint64_t row, uint64_t i) {
  uint64_t h = splitmix64(seed);
  h = splitmix64(h ^ offset);
  h = splitmix64(h ^ row);
  return splitmix64(h ^ i);
}

// Uniform in the open interval (0, 1): the top 52 bits, centred in their cell. (52, not 53: with
// 53 bits the largest cell's centre, 2^53 - 0.5, would round to 2^53 and give u = 1.)
TATS_HD double counter_uniform(uint64_t bits) { return ((bits >> 12) + 0.5) * (1.0 / 4503599627370496.0); }

}  // namespace tats::kernels
