// Video data: synthetic motion clips, real dataset layouts, decoding, sampling, transforms,
// shards, sources and the prefetching loader.
export * from './synthetic.js';
export * from './annotations/index.js';
export * from './decode.js';
export * from './sampling.js';
export * from './transforms.js';
export * from './shards.js';
export { packVideos, packSynthetic, type PackReport, type PackError, type PackVideosOptions, type PackSyntheticOptions } from './pack.js';
export * from './spec.js';
export { openSource, buildBatch, badSampleName, type BadSample, type Source, type SourceDescriptor, type LoadResult, type BuiltBatch } from './sources.js';
export * from './loader.js';
