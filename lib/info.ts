import { native, nativeLoad, nativePath } from './native.js';
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
  /** How the binary was chosen (lib/loader): which variant, which libtorch, and why. */
  load: TatsLoadInfo;
  node: string;
  platform: string;
}

/** `tats info`'s account of the load. */
export interface TatsLoadInfo {
  /** `prebuild` (prebuilds/<platform>/<variant>/), `build` (a local source build) or `env` (TATS_NATIVE). */
  kind: 'prebuild' | 'build' | 'env';
  /** The prebuild variant (`cpu-torch1.13`, `cuda13.0-torch2.11`), or null. */
  variant: string | null;
  /** The libtorch it runs with and where it was found (`env`: TATS_LIBTORCH, `python`, `system`, `build`: the one the build linked). */
  libtorch: { source: string; dir: string; version: string | null; cuda: string | null; cxx11Abi: 0 | 1 | null; how: string } | null;
  /** Libraries dlopen()ed (global symbols) before the addon; empty when the binary finds its own. */
  preloaded: string[];
  why: string;
  /** The child-process test load: `ran`, `cached` or `skipped` (TATS_PROBE=0). */
  probe: 'ran' | 'cached' | 'skipped';
  /** Candidates passed over, with the reason. */
  rejected: { candidate: string; reason: string }[];
  /** Places looked for libtorch, found or not. */
  looked: { place: string; found: boolean; detail: string }[];
}

function loadInfo(): TatsLoadInfo {
  const { choice: c, report } = nativeLoad();
  const t = c.libtorch;
  return {
    kind: c.kind,
    variant: c.variant,
    libtorch: t ? { source: t.kind, dir: t.dir, version: t.version, cuda: t.cuda, cxx11Abi: t.cxx11Abi, how: t.how } : null,
    preloaded: [...c.preload, ...c.fallbacks],
    why: c.why,
    probe: c.probe,
    rejected: report.binaries.filter((b) => !b.found).map((b) => ({ candidate: b.place, reason: b.detail })),
    looked: report.looked,
  };
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
    load: loadInfo(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}
