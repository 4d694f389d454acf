/**
 * Prebuilt variants: prebuilds/<platform>-<arch>/<variant>/{tats.node, tats-preload.node,
 * manifest.json}, written by scripts/prebuild.js. The manifest says what the binary needs (torch
 * version and sonames, C++ ABI, CUDA version and architectures, glibc); matchVariant() checks it
 * against a libtorch found on this machine before anything is loaded.
 * @internal
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { compareVersions } from './elf.js';
import type { Look, TorchLib } from './torch.js';

export interface PrebuildManifest {
  schema: 1;
  /** Package name and version the binary was built from. */
  package: string;
  version: string;
  /** The folder name: `cpu-torch1.13`, `cuda13.0-torch2.11`. */
  variant: string;
  /** `linux-x64`. */
  platform: string;
  flavour: 'cpu' | 'cuda';
  /** Node-API version the binary needs. */
  napi: number;
  /** File names in the variant folder. */
  binary: string;
  preload: string | null;
  sha256: string;
  torch: {
    /** What the build linked: `1.13.0`, `2.11.0`. */
    version: string;
    majorMinor: string;
    /** _GLIBCXX_USE_CXX11_ABI of the build. */
    cxx11Abi: 0 | 1;
    /** The torch sonames the binary needs (DT_NEEDED): `libtorch.so.1.13` (Debian) or `libtorch.so` (pip). */
    sonames: string[];
    /** Where the build found it (`system`, `python:<prefix>`, `env:<prefix>`). */
    builtAgainst: string;
    /** The one command that installs a libtorch this variant loads with. */
    install: string;
  };
  cuda: { version: string; major: number; architectures: string[]; nvcc: string | null } | null;
  /** Highest GLIBC_ / GLIBCXX_ symbol versions the binary needs. */
  glibc: string | null;
  glibcxx: string | null;
  /** Every DT_NEEDED entry. */
  needed: string[];
  built: { date: string; commit: string | null; host: string; compiler: string | null };
}

export interface Variant {
  name: string;
  dir: string;
  binary: string;
  helper: string | null;
  manifest: PrebuildManifest;
}

/** What the loader knows about this machine. */
export interface Host {
  platform: string;
  glibc: string | null;
  napi: number;
  /** An NVIDIA driver is present (the device nodes or /proc/driver/nvidia). */
  gpu: boolean;
}

export function hostInfo(env: NodeJS.ProcessEnv = process.env): Host {
  let glibc: string | null = null;
  try {
    // The report's network section can wait on DNS; leave it out.
    const report = process.report as NodeJS.ProcessReport & { excludeNetwork?: boolean };
    const before = report.excludeNetwork;
    report.excludeNetwork = true;
    const header = (report.getReport() as { header?: { glibcVersionRuntime?: string } }).header;
    report.excludeNetwork = before;
    glibc = header?.glibcVersionRuntime ?? null;
  } catch {
    glibc = null;
  }
  const gpu =
    env.TATS_VARIANT === 'cpu'
      ? false
      : existsSync('/dev/nvidiactl') || existsSync('/dev/nvidia0') || existsSync('/proc/driver/nvidia/version');
  return { platform: `${process.platform}-${process.arch}`, glibc, napi: Number(process.versions.napi ?? 0), gpu };
}

/** The variants shipped for this platform, and a note for each folder that is not a valid one. */
export function readVariants(root: string, platform: string): { variants: Variant[]; problems: Look[] } {
  const base = join(root, 'prebuilds', platform);
  const variants: Variant[] = [];
  const problems: Look[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync(base, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  } catch {
    return { variants, problems };
  }
  for (const name of entries) {
    const dir = join(base, name);
    const m = readManifest(dir);
    if (typeof m === 'string') {
      problems.push({ place: `prebuilds/${platform}/${name}`, found: false, detail: m });
      continue;
    }
    variants.push({ name, dir, binary: join(dir, m.binary), helper: m.preload ? join(dir, m.preload) : null, manifest: m });
  }
  return { variants, problems };
}

/** The manifest of a variant folder, or why there is none. */
export function readManifest(dir: string): PrebuildManifest | string {
  let m: PrebuildManifest;
  try {
    m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as PrebuildManifest;
  } catch (err) {
    return existsSync(join(dir, 'manifest.json')) ? `unreadable manifest.json: ${(err as Error).message}` : 'no manifest.json';
  }
  if (m.schema !== 1 || !m.binary || !m.torch || !m.flavour) return 'manifest.json is not a tats prebuild manifest (schema 1)';
  if (!existsSync(join(dir, m.binary))) return `manifest names ${m.binary}, which is missing`;
  return m;
}

/** `cpu, torch 1.13 (libtorch.so.1.13), glibc >= 2.34`. */
export function describeVariant(m: PrebuildManifest): string {
  const cuda = m.cuda ? `CUDA ${m.cuda.version} sm ${m.cuda.architectures.join(',')}` : 'cpu';
  return `${cuda}, torch ${m.torch.majorMinor} (${m.torch.sonames.join(' ')}, C++11 ABI ${m.torch.cxx11Abi})${m.glibc ? `, glibc >= ${m.glibc}` : ''}`;
}

/** Why variant `v` cannot run with libtorch `t` on `host`; empty when it matches. */
export function matchVariant(v: Variant, t: TorchLib, host: Host): string[] {
  const m = v.manifest;
  const why: string[] = [];
  if (m.platform !== host.platform) why.push(`built for ${m.platform}, this is ${host.platform}`);
  if (m.napi > host.napi) why.push(`needs Node-API ${m.napi}, this Node has ${host.napi}`);
  if (m.glibc && host.glibc && compareVersions(host.glibc, m.glibc) < 0) {
    why.push(`needs glibc ${m.glibc}, this system has ${host.glibc}`);
  }
  if (t.majorMinor && t.majorMinor !== m.torch.majorMinor) {
    why.push(`needs torch ${m.torch.majorMinor}, found ${t.version}`);
  }
  const missing = m.torch.sonames.filter((s) => !t.files.includes(s));
  if (missing.length) why.push(`needs ${missing.join(', ')}, not in ${t.dir}`);
  if (t.cxx11Abi !== null && t.cxx11Abi !== m.torch.cxx11Abi) {
    why.push(`built with C++11 ABI ${m.torch.cxx11Abi}, this torch uses ${t.cxx11Abi}`);
  }
  if (m.cuda) {
    if (!t.cuda) why.push(`needs a CUDA ${m.cuda.version} torch, this one is CPU-only`);
    else if (t.cuda !== 'unknown' && parseInt(t.cuda, 10) !== m.cuda.major) {
      why.push(`needs a CUDA ${m.cuda.major}.x torch, this one has CUDA ${t.cuda}`);
    }
  }
  return why;
}

/**
 * The order to try variants with one libtorch: a CUDA variant first when there is a GPU and the
 * torch has CUDA, then CPU, then (a machine without a GPU but with a CUDA torch) a CUDA variant,
 * which runs on the CPU there.
 */
export function preferenceOrder(variants: Variant[], t: TorchLib, host: Host, env: NodeJS.ProcessEnv = process.env): Variant[] {
  const cpu = variants.filter((v) => v.manifest.flavour === 'cpu');
  const cuda = variants.filter((v) => v.manifest.flavour === 'cuda');
  if (env.TATS_VARIANT === 'cpu') return cpu;
  if (env.TATS_VARIANT === 'cuda') return cuda;
  return host.gpu && t.cuda ? [...cuda, ...cpu] : [...cpu, ...cuda];
}
