/**
 * `data.syntheticStyle`: the look of the built-in synthetic clips (lib/data/synthetic.ts's
 * SyntheticStyle), checked field by field with the predicates of check.ts over a base look (the
 * default, `DEFAULTS.data.syntheticStyle`), so that a bad value names its field
 * (`data.syntheticStyle.background`).
 */
import { ConfigError } from '../errors/index.js';
import type { SyntheticStyle } from '../data/synthetic.js';
import { boolean, knownKeys, oneOf, plainObject } from './check.js';
import { DEFAULTS } from './defaults.js';

const STYLE_KEYS: ReadonlyArray<keyof SyntheticStyle> = ['spriteScale', 'spriteTexture', 'background', 'polarity'];

/** The default look, a fresh copy. */
export function defaultSyntheticStyle(): SyntheticStyle {
  const d = DEFAULTS.data.syntheticStyle;
  return { ...d, spriteScale: [d.spriteScale[0], d.spriteScale[1]] };
}

/**
 * `style` (an object of any SyntheticStyle fields; undefined or null: none) over `base`, every field
 * checked; unknown fields are an error. Returns the full style.
 */
export function checkSyntheticStyle(field: string, style: unknown, base: SyntheticStyle = defaultSyntheticStyle()): SyntheticStyle {
  const o = plainObject(field, style ?? {});
  knownKeys(field, o, STYLE_KEYS);
  const s = { ...base, ...o } as Record<keyof SyntheticStyle, unknown>;
  const scale = s.spriteScale;
  const ok =
    Array.isArray(scale) &&
    scale.length === 2 &&
    scale.every((v) => typeof v === 'number' && Number.isFinite(v)) &&
    (scale[0] as number) > 0 &&
    (scale[0] as number) <= (scale[1] as number) &&
    (scale[1] as number) < 1;
  if (!ok) throw new ConfigError(`${field}.spriteScale`, scale, '[lo, hi] with 0 < lo <= hi < 1');
  return {
    spriteScale: [scale[0] as number, scale[1] as number],
    spriteTexture: boolean(`${field}.spriteTexture`, s.spriteTexture),
    background: oneOf(`${field}.background`, s.background, ['texture', 'flat', 'grain'] as const),
    polarity: oneOf(`${field}.polarity`, s.polarity, ['random', 'bright-on-dark'] as const),
  };
}
