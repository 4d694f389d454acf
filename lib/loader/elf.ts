/**
 * A small reader of an ELF64 shared object's dynamic section: the libraries it needs (DT_NEEDED),
 * its RPATH/RUNPATH, and the symbol versions it needs from each library (GLIBC_2.34, ...). The
 * loader uses it to preload exactly the torch libraries a binary names; scripts/prebuild.js uses it
 * to write the manifest and to take the build machine's RUNPATH out of a prebuild.
 * Reads only the headers and the dynamic tables, never the whole file.
 * @internal
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';

export interface ElfDynamic {
  needed: string[];
  soname: string | null;
  rpath: string | null;
  runpath: string | null;
  /** Versions needed per library file: `{ 'libc.so.6': ['GLIBC_2.34', ...] }`. */
  versions: Record<string, string[]>;
}

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const DT_NEEDED = 1;
const DT_STRTAB = 5;
const DT_STRSZ = 10;
const DT_SONAME = 14;
const DT_RPATH = 15;
const DT_RUNPATH = 29;
const DT_VERNEED = 0x6ffffffe;
const DT_VERNEEDNUM = 0x6fffffff;
const SHT_DYNSYM = 11;

interface Parsed {
  fd: number;
  dyn: { tag: number; val: number }[];
  strtabOff: number;
  strsz: number;
  strtab: Buffer;
  toOffset: (vaddr: number) => number;
  shoff: number;
  shnum: number;
  shentsize: number;
}

function read(fd: number, offset: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  const n = readSync(fd, buf, 0, length, offset);
  if (n !== length) throw new Error(`short read at ${offset} (${n} of ${length} bytes)`);
  return buf;
}

function cstr(buf: Buffer, at: number): string {
  const end = buf.indexOf(0, at);
  return buf.toString('utf8', at, end < 0 ? buf.length : end);
}

function parse(fd: number, path: string): Parsed {
  const h = read(fd, 0, 64);
  if (h.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${path} is not an ELF file`);
  if (h[4] !== 2 || h[5] !== 1) throw new Error(`${path} is not a little-endian 64-bit ELF file`);
  const phoff = Number(h.readBigUInt64LE(0x20));
  const shoff = Number(h.readBigUInt64LE(0x28));
  const phentsize = h.readUInt16LE(0x36);
  const phnum = h.readUInt16LE(0x38);
  const shentsize = h.readUInt16LE(0x3a);
  const shnum = h.readUInt16LE(0x3c);
  const ph = read(fd, phoff, phentsize * phnum);
  const loads: { vaddr: number; offset: number; filesz: number }[] = [];
  let dynOff = -1;
  let dynSize = 0;
  for (let i = 0; i < phnum; i++) {
    const b = i * phentsize;
    const type = ph.readUInt32LE(b);
    const offset = Number(ph.readBigUInt64LE(b + 8));
    const vaddr = Number(ph.readBigUInt64LE(b + 16));
    const filesz = Number(ph.readBigUInt64LE(b + 32));
    if (type === PT_LOAD) loads.push({ vaddr, offset, filesz });
    if (type === PT_DYNAMIC) {
      dynOff = offset;
      dynSize = filesz;
    }
  }
  if (dynOff < 0) throw new Error(`${path} has no dynamic section`);
  const toOffset = (vaddr: number): number => {
    const seg = loads.find((l) => vaddr >= l.vaddr && vaddr < l.vaddr + l.filesz);
    if (!seg) throw new Error(`${path}: address 0x${vaddr.toString(16)} is in no loaded segment`);
    return vaddr - seg.vaddr + seg.offset;
  };
  const d = read(fd, dynOff, dynSize);
  const dyn: { tag: number; val: number }[] = [];
  for (let at = 0; at + 16 <= d.length; at += 16) {
    const tag = Number(d.readBigInt64LE(at));
    if (tag === 0) break;
    dyn.push({ tag, val: Number(d.readBigUInt64LE(at + 8)) });
  }
  const strtabVaddr = dyn.find((e) => e.tag === DT_STRTAB)?.val;
  const strsz = dyn.find((e) => e.tag === DT_STRSZ)?.val;
  if (strtabVaddr === undefined || strsz === undefined) throw new Error(`${path} has no dynamic string table`);
  const strtabOff = toOffset(strtabVaddr);
  return { fd, dyn, strtabOff, strsz, strtab: read(fd, strtabOff, strsz), toOffset, shoff, shnum, shentsize };
}

function verneed(p: Parsed): { file: number; names: number[] }[] {
  const at = p.dyn.find((e) => e.tag === DT_VERNEED)?.val;
  const count = p.dyn.find((e) => e.tag === DT_VERNEEDNUM)?.val ?? 0;
  if (at === undefined) return [];
  const out: { file: number; names: number[] }[] = [];
  let off = p.toOffset(at);
  for (let i = 0; i < count; i++) {
    const vn = read(p.fd, off, 16);
    const cnt = vn.readUInt16LE(2);
    const file = vn.readUInt32LE(4);
    const aux = vn.readUInt32LE(8);
    const next = vn.readUInt32LE(12);
    const names: number[] = [];
    let aoff = off + aux;
    for (let j = 0; j < cnt; j++) {
      const a = read(p.fd, aoff, 16);
      names.push(a.readUInt32LE(8));
      const anext = a.readUInt32LE(12);
      if (!anext) break;
      aoff += anext;
    }
    out.push({ file, names });
    if (!next) break;
    off += next;
  }
  return out;
}

/** The dynamic section of an ELF64 little-endian file (x86-64, aarch64). */
export function readElfDynamic(path: string): ElfDynamic {
  const fd = openSync(path, 'r');
  try {
    const p = parse(fd, path);
    const str = (o: number) => cstr(p.strtab, o);
    const versions: Record<string, string[]> = {};
    for (const v of verneed(p)) versions[str(v.file)] = v.names.map(str);
    const one = (tag: number) => {
      const e = p.dyn.find((x) => x.tag === tag);
      return e ? str(e.val) : null;
    };
    return {
      needed: p.dyn.filter((e) => e.tag === DT_NEEDED).map((e) => str(e.val)),
      soname: one(DT_SONAME),
      rpath: one(DT_RPATH),
      runpath: one(DT_RUNPATH),
      versions,
    };
  } finally {
    closeSync(fd);
  }
}

/** Compares dotted versions numerically: `2.9` < `2.34`. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((x) => parseInt(x, 10) || 0);
  const pb = b.split('.').map((x) => parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d) return d;
  }
  return 0;
}

/** The highest `<prefix><version>` among the versions needed (e.g. prefix `GLIBC_` gives `2.34`), or null. */
export function maxVersionNeeded(dyn: ElfDynamic, prefix: string): string | null {
  let best: string | null = null;
  for (const names of Object.values(dyn.versions)) {
    for (const n of names) {
      if (!n.startsWith(prefix)) continue;
      const v = n.slice(prefix.length);
      if (!/^\d+(\.\d+)*$/.test(v)) continue;
      if (best === null || compareVersions(v, best) > 0) best = v;
    }
  }
  return best;
}

/**
 * Overwrites DT_RPATH/DT_RUNPATH strings in place with `value` (chrpath's method: the new string
 * must not be longer; the rest of the old one is zero-filled). Refuses when another dynamic string
 * shares bytes with the old path (a linker may merge string tails). Returns the old values.
 */
export function replaceRunpath(path: string, value: string): string[] {
  const fd = openSync(path, 'r+');
  try {
    const p = parse(fd, path);
    const targets = p.dyn.filter((e) => e.tag === DT_RPATH || e.tag === DT_RUNPATH);
    if (!targets.length) return [];
    // Every other reference into the string table, to make sure none points inside the old path.
    const refs = new Set<number>();
    for (const e of p.dyn) if (e.tag === DT_NEEDED || e.tag === DT_SONAME) refs.add(e.val);
    for (const v of verneed(p)) {
      refs.add(v.file);
      for (const n of v.names) refs.add(n);
    }
    if (p.shoff && p.shnum) {
      const sh = read(fd, p.shoff, p.shentsize * p.shnum);
      for (let i = 0; i < p.shnum; i++) {
        const b = i * p.shentsize;
        if (sh.readUInt32LE(b + 4) !== SHT_DYNSYM) continue;
        const off = Number(sh.readBigUInt64LE(b + 0x18));
        const size = Number(sh.readBigUInt64LE(b + 0x20));
        const ent = Number(sh.readBigUInt64LE(b + 0x38)) || 24;
        const syms = read(fd, off, size);
        for (let at = 0; at + ent <= size; at += ent) refs.add(syms.readUInt32LE(at));
      }
    }
    const old: string[] = [];
    for (const t of targets) {
      const s = cstr(p.strtab, t.val);
      old.push(s);
      if (Buffer.byteLength(value) > Buffer.byteLength(s)) {
        throw new Error(`${path}: cannot replace the run path '${s}' with the longer '${value}' in place`);
      }
      const end = t.val + Buffer.byteLength(s);
      for (const r of refs) {
        if (r > t.val && r <= end) throw new Error(`${path}: the run path string is shared with another symbol; use patchelf`);
      }
      const bytes = Buffer.alloc(Buffer.byteLength(s) + 1);
      bytes.write(value, 0, 'utf8');
      writeSync(fd, bytes, 0, bytes.length, p.strtabOff + t.val);
    }
    return old;
  } finally {
    closeSync(fd);
  }
}
