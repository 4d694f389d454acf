import { native, nativePath } from './native.js';
import { packageVersion } from './paths.js';

/** Versions and hardware, as `tats info --json` prints them. */
export interface TatsInfo {
  /** tats package version. */
  version: string;
  /** libtorch version the addon was built against. */
  torch: string;
  /** Where the build found libtorch: `system`, `python:<prefix>` or `env:<prefix>`. */
  torchSource: string;
  /** True when CUDA kernels are compiled in and a CUDA device is usable. */
  cuda: boolean;
  /** The device training would use by default: the first GPU's name, or `cpu`. */
  device: string;
  /** Compute capability of that GPU (`9.0`), or null on CPU. */
  capability: string | null;
  /** `cuda` when the binary has CUDA kernels, else `cpu`. */
  flavour: 'cpu' | 'cuda';
  /** CUDA architectures compiled in (`80;90`), empty for a CPU build. */
  cudaArchitectures: string;
  /** Absolute path of the loaded native binary. */
  binary: string;
  devices: { index: number; name: string; capability: string; memoryGiB: number; multiprocessors: number }[];
  /** Intra-op CPU threads libtorch uses. */
  cpuThreads: number;
  /** Data-parallel backends this binary can create: `gloo` (CPU), `nccl` (CUDA). */
  distributed: ('gloo' | 'nccl')[];
  node: string;
  platform: string;
}

export function info(): TatsInfo {
  const n = native().info();
  const first = n.devices[0];
  return {
    version: packageVersion,
    torch: n.torch,
    torchSource: n.torchSource,
    cuda: n.cudaAvailable,
    device: n.cudaAvailable && first ? first.name : 'cpu',
    capability: n.cudaAvailable && first ? first.capability : null,
    flavour: n.cudaCompiled ? 'cuda' : 'cpu',
    cudaArchitectures: n.cudaArchitectures,
    binary: nativePath(),
    devices: n.devices,
    cpuThreads: n.threads,
    distributed: native().distributedBackends(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}
