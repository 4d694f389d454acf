#include "addon/limits.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <limits>

#include "addon/errors.h"
#ifdef TATS_WITH_CUDA
#include <cuda_runtime_api.h>
#endif

namespace tats::addon {

namespace {

// Generous limits: far beyond any model lib/config accepts, small enough that no product below
// overflows and no allocation they allow is absurd before the memory estimate.
constexpr int64_t kMaxFrames = 4096, kMaxSize = 16384, kMaxChannels = 64;
constexpr int64_t kMaxDim = 65536, kMaxDepth = 1024, kMaxHeads = 4096;
constexpr int64_t kMaxTokens = int64_t{1} << 20;         // tokens per clip
constexpr int64_t kMaxDrawValues = int64_t{1} << 28;     // batch * tokens of one mask draw (1 GiB of uniforms)
constexpr int64_t kMaxBatch = int64_t{1} << 20;

[[noreturn]] void config_error(Napi::Env env, const std::string& message) { throw_error(env, "ERR_CONFIG", message); }

std::string gib(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", bytes / (1024.0 * 1024.0 * 1024.0));
  return buf;
}

void check_divides(Napi::Env env, const std::string& where, const char* big, int64_t b, const char* small, int64_t s) {
  if (b % s != 0)
    config_error(env, where + "." + big + " must be a multiple of " + where + "." + small + " (" + std::to_string(s) +
                          "), received " + std::to_string(b));
}

}  // namespace

int64_t mul_or_neg(int64_t a, int64_t b) {
  if (a < 0 || b < 0) return -1;
  if (a != 0 && b > std::numeric_limits<int64_t>::max() / a) return -1;
  return a * b;
}

void check_range(Napi::Env env, const std::string& name, int64_t v, int64_t lo, int64_t max) {
  if (v < lo || v > max)
    config_error(env, name + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(max) +
                          "], received " + std::to_string(v));
}

uint64_t device_memory_bytes(const std::string& device, int64_t index) {
#ifdef TATS_WITH_CUDA
  if (device == "cuda") {
    int count = 0;
    if (cudaGetDeviceCount(&count) == cudaSuccess && index >= 0 && index < count) {
      cudaDeviceProp prop{};
      if (cudaGetDeviceProperties(&prop, static_cast<int>(index)) == cudaSuccess) return prop.totalGlobalMem;
    }
  }
#else
  (void)device;
  (void)index;
#endif
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) : 0;
}

void check_grid(Napi::Env env, int64_t frames, int64_t size, int64_t tubelet, int64_t patch, int64_t batch,
                const std::string& where) {
  check_range(env, where + ".frames", frames, 1, kMaxFrames);
  check_range(env, where + ".size", size, 1, kMaxSize);
  check_range(env, where + ".tubelet", tubelet, 1, frames);
  check_range(env, where + ".patch", patch, 1, size);
  check_divides(env, where, "frames", frames, "tubelet", tubelet);
  check_divides(env, where, "size", size, "patch", patch);
  const int64_t side = size / patch, tokens = (frames / tubelet) * side * side;  // <= 4096 * 16384^2: no overflow
  if (tokens > kMaxTokens)
    config_error(env, where + ": (frames / tubelet) * (size / patch)^2 = " + std::to_string(tokens) +
                          " tokens per clip, more than the limit of " + std::to_string(kMaxTokens));
  if (batch >= 0) {
    check_range(env, where + ".batch", batch, 1, kMaxBatch);
    if (batch * tokens > kMaxDrawValues)
      config_error(env, where + ": batch * tokens = " + std::to_string(batch * tokens) + " values, more than the limit of " +
                            std::to_string(kMaxDrawValues));
  }
}

void check_model(Napi::Env env, const core::ModelConfig& m, bool decoder, const std::string& where,
                 const std::string& device, int64_t device_index) {
  check_grid(env, m.frames, m.size, m.tubelet, m.patch, -1, where);
  check_range(env, where + ".channels", m.channels, 1, kMaxChannels);
  check_range(env, where + ".encoderDim", m.encoder_dim, 1, kMaxDim);
  check_range(env, where + ".encoderDepth", m.encoder_depth, 1, kMaxDepth);
  check_range(env, where + ".encoderHeads", m.encoder_heads, 1, kMaxHeads);
  check_divides(env, where, "encoderDim", m.encoder_dim, "encoderHeads", m.encoder_heads);
  if (decoder) {
    check_range(env, where + ".decoderDim", m.decoder_dim, 1, kMaxDim);
    check_range(env, where + ".decoderDepth", m.decoder_depth, 1, kMaxDepth);
    check_range(env, where + ".decoderHeads", m.decoder_heads, 1, kMaxHeads);
    check_divides(env, where, "decoderDim", m.decoder_dim, "decoderHeads", m.decoder_heads);
  }
  if (!(m.mlp_ratio > 0 && m.mlp_ratio <= 64))
    config_error(env, where + ".mlpRatio must be a number in (0, 64], received " + std::to_string(m.mlp_ratio));
  // Parameters (in doubles: no overflow): per block 4 D^2 (qkv, proj) + 2 r D^2 (MLP), the patch
  // embedding, the position table; the decoder's projection and head. x4 for fp32 and x4 again
  // for gradients and AdamW's two moments.
  const double tokens = static_cast<double>(m.frames / m.tubelet) * std::pow(static_cast<double>(m.size / m.patch), 2);
  const double patch_values = static_cast<double>(m.tubelet) * m.patch * m.patch * m.channels;
  auto blocks = [&](double dim, double depth) { return depth * (4.0 + 2.0 * m.mlp_ratio) * dim * dim; };
  double params = blocks(m.encoder_dim, m.encoder_depth) + (patch_values + tokens) * m.encoder_dim;
  if (decoder)
    params += blocks(m.decoder_dim, m.decoder_depth) + static_cast<double>(m.encoder_dim) * m.decoder_dim +
              (patch_values + tokens) * m.decoder_dim;
  const double bytes = params * 4.0 * 4.0;
  const uint64_t have = device_memory_bytes(device, device_index);
  if (have > 0 && bytes > static_cast<double>(have))
    throw_error(env, "ERR_OUT_OF_MEMORY",
                where + ": a model of encoderDim " + std::to_string(m.encoder_dim) + " x encoderDepth " +
                    std::to_string(m.encoder_depth) +
                    (decoder ? ", decoderDim " + std::to_string(m.decoder_dim) + " x decoderDepth " + std::to_string(m.decoder_depth) : std::string()) +
                    " needs about " + gib(bytes) + " GiB for its weights, gradients and optimizer state, more than the " +
                    gib(static_cast<double>(have)) + " GiB of memory of device '" + device + "'");
}

}  // namespace tats::addon
