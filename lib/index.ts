/**
 * tats: video masked-autoencoder pretraining with a trajectory-aware, PPO-trained token sampler.
 * @packageDocumentation
 */
export { info, type TatsInfo } from './info.js';
export * from './errors/index.js';
export { packageVersion as version } from './paths.js';
export * from './data/index.js';
