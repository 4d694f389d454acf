export * from './types.js';
export { DEFAULTS, DERIVED, MODEL_PRESETS } from './defaults.js';
export { PRESETS, PRESET_NAMES, DATASET_LAYOUTS, type Preset, type DatasetLayout } from './presets.js';
export { resolveConfig, mergeOptions, toSessionConfig, tokensPerClip, maskedTokens, type ResolveContext } from './resolve.js';
export { loadConfigFile } from './load.js';
