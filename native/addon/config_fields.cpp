#include "addon/config_fields.h"

#include "addon/convert.h"

namespace tats::addon {

core::ModelConfig read_model_config(const Napi::Object& m, bool decoder) {
  core::ModelConfig model;
  model.preset = get_string(m, "preset", "config.model");
  model.frames = get_int(m, "frames", "config.model");
  model.size = get_int(m, "size", "config.model");
  model.tubelet = get_int(m, "tubelet", "config.model");
  model.patch = get_int(m, "patch", "config.model");
  model.channels = get_int(m, "channels", "config.model");
  model.encoder_dim = get_int(m, "encoderDim", "config.model");
  model.encoder_depth = get_int(m, "encoderDepth", "config.model");
  model.encoder_heads = get_int(m, "encoderHeads", "config.model");
  if (decoder) {
    model.decoder_dim = get_int(m, "decoderDim", "config.model");
    model.decoder_depth = get_int(m, "decoderDepth", "config.model");
    model.decoder_heads = get_int(m, "decoderHeads", "config.model");
  }
  model.mlp_ratio = get_number(m, "mlpRatio", "config.model");
  return model;
}

core::OptimConfig read_optim_config(const Napi::Object& o) {
  core::OptimConfig optim;
  optim.lr = get_number(o, "lr", "config.optim");
  optim.min_lr = get_number(o, "minLr", "config.optim");
  optim.warmup_steps = get_int(o, "warmupSteps", "config.optim");
  optim.total_steps = get_int(o, "totalSteps", "config.optim");
  optim.weight_decay = get_number(o, "weightDecay", "config.optim");
  optim.beta1 = get_number(o, "beta1", "config.optim");
  optim.beta2 = get_number(o, "beta2", "config.optim");
  optim.clip_grad = get_number(o, "clipGrad", "config.optim");
  return optim;
}

}  // namespace tats::addon
