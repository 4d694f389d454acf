/**
 * How the synthetic clips look (not what the classes are): the named looks, the default one, and
 * the check of a style given to the dataset directly. The config field `data.syntheticStyle` is
 * checked by lib/config/synthetic-style.ts (lib/config depends on lib/data, not the other way).
 */
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
 * The style: the default look, then the options' own fields, checked field by field (as
 * lib/config's checkSyntheticStyle does for `data.syntheticStyle`; lib/config depends on lib/data,
 * not the other way).
 */
export function resolveStyle(style: Partial<SyntheticStyle> | undefined): SyntheticStyle {
  refuseStyleEnv();
  if (style !== undefined && (style === null || typeof style !== 'object' || Array.isArray(style))) throw new ConfigError('style', style, 'an object');
  for (const key of Object.keys(style ?? {})) if (!(STYLE_KEYS as readonly string[]).includes(key)) throw new ConfigError(`style.${key}`, (style as Record<string, unknown>)[key], `a known field; style has ${STYLE_KEYS.join(', ')}`);
  const s = { ...DEFAULT_STYLE, ...(style ?? {}) };
  const [lo, hi] = Array.isArray(s.spriteScale) ? s.spriteScale : [NaN, NaN];
  if (!(typeof lo === 'number' && typeof hi === 'number' && lo > 0 && lo <= hi && hi < 1)) throw new ConfigError('style.spriteScale', s.spriteScale, '[lo, hi] with 0 < lo <= hi < 1');
  if (typeof s.spriteTexture !== 'boolean') throw new ConfigError('style.spriteTexture', s.spriteTexture, 'true or false');
  if (!['texture', 'flat', 'grain'].includes(s.background)) throw new ConfigError('style.background', s.background, '"texture", "flat" or "grain"');
  if (!['random', 'bright-on-dark'].includes(s.polarity)) throw new ConfigError('style.polarity', s.polarity, '"random" or "bright-on-dark"');
  return { ...s, spriteScale: [lo, hi] };
}

/** Whether a style is the default look. */
export function isDefaultStyle(style: SyntheticStyle): boolean {
  return STYLE_KEYS.every((k) => JSON.stringify(style[k]) === JSON.stringify(DEFAULT_STYLE[k]));
}
