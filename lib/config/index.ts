export * from './types.js';
export { DEFAULTS, DERIVED, FINETUNE_DEFAULTS, COMPARE_DEFAULTS, EVAL_DEFAULTS, DASHBOARD_DEFAULTS, PACK_DEFAULTS, MODEL_PRESETS, defaultSyntheticStyle } from './defaults.js';
export { PRESETS, PRESET_NAMES, DATASET_LAYOUTS, type Preset, type DatasetLayout } from './presets.js';
export { resolveConfig, mergeOptions, toSessionConfig, tokensPerClip, maskedTokens, type ResolveContext } from './resolve.js';
export { loadConfigFile } from './load.js';
export { checkSyntheticStyle } from '../data/synthetic.js';
export { refuseRetiredEnv, RETIRED_ENV } from '../retired-env.js';
export {
  resolveFinetuneConfig,
  resolveFlip,
  resolveDevice,
  ENCODER_PRESETS,
  type FinetuneOptions,
  type FinetuneConfig,
  type CheckpointModel,
  type ModelPreset,
} from './finetune.js';
export { resolveEvalConfig, parseViews, defaultViews, type EvalChoices, type EvalConfig } from './eval.js';
export { resolveDashboardConfig, type DashboardChoices, type DashboardConfig } from './dashboard.js';
export { resolvePackConfig, type PackChoices, type PackConfig } from './pack.js';
