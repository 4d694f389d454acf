/**
 * Small predicates for config validation. Each throws a ConfigError naming the field, the value
 * received and what is allowed, so every config message has the same shape. A leaf (it imports
 * only lib/errors), so lib/config, lib/data and the rest all check with the same functions without
 * an import circle.
 */
import { statSync } from 'node:fs';

import { ConfigError } from './errors/index.js';

function range(min: number, max: number, minOpen = false, maxOpen = false): string {
  if (max === Infinity) return `${minOpen ? '>' : '>='} ${min}`;
  return `in ${minOpen ? '(' : '['}${min}, ${max}${maxOpen ? ')' : ']'}`;
}

/** An integer in [min, max]. */
export function integer(field: string, value: unknown, min: number, max = Infinity): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(field, value, `an integer ${range(min, max)}`);
  }
  return value;
}

/** A finite number within bounds; `open` makes an end exclusive. */
export function number(
  field: string,
  value: unknown,
  min = -Infinity,
  max = Infinity,
  open: { min?: boolean; max?: boolean } = {},
): number {
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (open.min ? value > min : value >= min) &&
    (open.max ? value < max : value <= max);
  if (!ok) {
    const what = min === -Infinity && max === Infinity ? 'a finite number' : `a number ${range(min, max, open.min, open.max)}`;
    throw new ConfigError(field, value, what);
  }
  return value;
}

export function boolean(field: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new ConfigError(field, value, 'true or false');
  return value;
}

export function nonEmptyString(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw new ConfigError(field, value, 'a non-empty string');
  return value;
}

/** The path of an existing folder; `what` says what it holds (the expected part of the message). */
export function existingFolder(field: string, value: unknown, what = 'an existing folder'): string {
  if (typeof value !== 'string' || value === '' || !statSync(value, { throwIfNoEntry: false })?.isDirectory()) throw new ConfigError(field, value, what);
  return value;
}

export function oneOf<T extends string>(field: string, value: unknown, choices: readonly T[]): T {
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    throw new ConfigError(field, value, `one of ${choices.join(', ')}`);
  }
  return value as T;
}

export function plainObject(field: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError(field, value, 'an object');
  return value as Record<string, unknown>;
}

/** Throws for keys of `obj` not in `known`, naming the closest known key when there is one. */
export function knownKeys(prefix: string, obj: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(obj)) {
    if (known.includes(key)) continue;
    const near = closest(key, known);
    throw new ConfigError(
      prefix ? `${prefix}.${key}` : key,
      obj[key],
      `a known field${near ? ` (did you mean ${prefix ? `${prefix}.` : ''}${near}?)` : ''}; ${prefix || 'the config'} has ${known.join(', ')}`,
    );
  }
}

function closest(word: string, options: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const o of options) {
    const d = editDistance(word.toLowerCase(), o.toLowerCase());
    if (d < bestD) [best, bestD] = [o, d];
  }
  return bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}
