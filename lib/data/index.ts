// Video data: synthetic motion clips, real dataset layouts, decoding, shards, loaders.
export * from './synthetic.js';
