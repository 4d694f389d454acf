import { TatsError } from './TatsError.js';

/**
 * Invalid configuration or arguments, found before any work starts. The CLI exits with 2.
 * The message names the field, the value received and what is allowed.
 */
export class ConfigError extends TatsError {
  readonly field: string;
  readonly value: unknown;
  readonly allowed: string;

  constructor(field: string, value: unknown, allowed: string) {
    super('ERR_CONFIG', `${field}: expected ${allowed}, received ${describeValue(value)}`);
    this.field = field;
    this.value = value;
    this.allowed = allowed;
  }
}

export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (typeof value === 'function') return 'a function';
  return `an object (${JSON.stringify(value)?.slice(0, 60) ?? 'unserialisable'})`;
}
