/**
 * How the synthetic clips look (not what the classes are): the named looks, the default one, and
 * the one check of a style (`checkSyntheticStyle`), used both for a style given to the dataset
 * directly and by lib/config for the config field `data.syntheticStyle`.
 */
import { boolean, knownKeys, oneOf, plainObject } from '../check.js';
import { ConfigError } from '../errors/index.js';
import { ANY_TONE, type Tone } from './synthetic-render.js';

/** How clips look (not what the classes are). */
export interface SyntheticStyle {
  /** Sprite side as a fraction of the frame side, [lo, hi]. */
  spriteScale: [number, number];
  /** Two-colour procedural texture on sprites (true) or one solid colour (false). */
  spriteTexture: boolean;
  /** Static background: a two-colour procedural texture, one flat colour, or flat colour plus static grain. */
  background: 'texture' | 'flat' | 'grain';
  /** Colours of background and sprites from one range ('random'), or sprites bright over a dark background. */
  polarity: 'random' | 'bright-on-dark';
}

/**
 * Named looks. `objects` (the default): one or a few solid bright sprites over a flat dark
 * background, the Moving-MNIST convention; the direction of motion is then a first-order cue (the
 * sign of the frame difference at a leading edge is always "brighter"), a small ViT learns it from
 * labels, and MAE pretraining on unlabelled clips helps a low-label fine-tune (docs/finetune.md).
 * `textured` (the first look of this set): small two-colour textured sprites over a textured
 * background, colours from one range; which way a sprite moves then depends on the product of the
 * frame difference and the edge's contrast sign, and at CPU and short GPU budgets neither fine-tuning
 * nor MAE pretraining gets above chance on it (docs/finetune.md has the record).
 */
export const SYNTHETIC_STYLES: Readonly<Record<'objects' | 'textured', SyntheticStyle>> = {
  objects: { spriteScale: [0.25, 0.35], spriteTexture: false, background: 'flat', polarity: 'bright-on-dark' },
  textured: { spriteScale: [0.14, 0.22], spriteTexture: true, background: 'texture', polarity: 'random' },
};
/** The default look (`DEFAULTS.data.syntheticStyle` of lib/config/defaults.ts is the same; a test checks). */
const DEFAULT_STYLE = SYNTHETIC_STYLES.objects;
const STYLE_KEYS: ReadonlyArray<keyof SyntheticStyle> = ['spriteScale', 'spriteTexture', 'background', 'polarity'];

/** [background, sprite] channel ranges per polarity. */
export const TONES: Record<SyntheticStyle['polarity'], [Tone, Tone]> = { random: [ANY_TONE, ANY_TONE], 'bright-on-dark': [[0, 100], [150, 255]] };

/**
 * Throws when TATS_SYNTHETIC_STYLE is set: it used to change the look of the clips unrecorded; the
 * look is now the config field `data.syntheticStyle`, written into the run's config.json.
 */
export function refuseStyleEnv(env: NodeJS.ProcessEnv = process.env): void {
  const raw = env.TATS_SYNTHETIC_STYLE;
  if (raw !== undefined && raw !== '') {
    throw new ConfigError(
      'TATS_SYNTHETIC_STYLE',
      raw,
      'unset: the look of the synthetic clips is the config field data.syntheticStyle now (e.g. "data": { "syntheticStyle": ' + raw + ' } in a --config file), recorded in the run\'s config.json; fine-tuning and eval read it from the checkpoint\'s run',
    );
  }
}

/**
 * `style` (an object of any SyntheticStyle fields; undefined or null: none) over `base` (the
 * default look unless given), every field checked with the predicates of lib/check.ts so that a bad
 * value names its field (`data.syntheticStyle.background`); unknown fields are an error. Returns
 * the full style.
 */
export function checkSyntheticStyle(field: string, style: unknown, base: SyntheticStyle = DEFAULT_STYLE): SyntheticStyle {
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

/** The dataset's `style` option: the default look, then the option's own fields (checkSyntheticStyle). */
export function resolveStyle(style: Partial<SyntheticStyle> | undefined): SyntheticStyle {
  refuseStyleEnv();
  if (style === null) throw new ConfigError('style', style, 'an object');
  return checkSyntheticStyle('style', style);
}

/** Whether a style is the default look. */
export function isDefaultStyle(style: SyntheticStyle): boolean {
  return STYLE_KEYS.every((k) => JSON.stringify(style[k]) === JSON.stringify(DEFAULT_STYLE[k]));
}
