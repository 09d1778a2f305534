/**
 * The parsers of the configuration loader: one way to read an integer, a
 * switch, a choice, a list or a piece of text from an environment variable,
 * so every setting follows the same rules (docs/operations.md says them to
 * operators):
 * - unset, or only spaces: the default. A list is the exception: only unset
 *   is its default, and an empty list is a list of nothing
 *   (`BARRAGE_GUEST_ROOMS=` admits no guests);
 * - integers are plain decimal digits within a range (`1e3`, `0x10` and
 *   `2.0` are refused rather than guessed at);
 * - switches are `1`, `true`, `yes`, `on` or `0`, `false`, `no`, `off`, in
 *   any case, the same words for every switch;
 * - anything else is a `ConfigError` whose message starts with the
 *   variable's name, so the operator knows which line to fix.
 *
 * A parser returns a `Setting`: the variable's name (the loader's table of
 * settings is made of them, and the docs test reads the names from it) and
 * how to read it from an environment.
 */
import { resolve } from 'node:path';
import { ConfigError } from '../errors.js';

/** An environment as the loader reads it: the environment of the process in the CLI (bin/), a plain object in tests. */
export type Env = Readonly<Record<string, string | undefined>>;

/** One environment variable the loader knows, and how its text becomes a value. */
export interface Setting<T> {
  /** The variable's name, as operators set it. */
  readonly name: string;
  /** Older names still read when `name` is unset (`LOG_LEVEL`). */
  readonly aliases: readonly string[];
  /** The value in `env`, or the default; throws `ConfigError` naming the variable when the text is not one. */
  read(env: Env): T;
}

/** Options every parser takes. */
export interface SettingOptions {
  /** Older names still read when the main name is unset. */
  aliases?: readonly string[];
}

/** The text of a setting: its own name first, then its aliases; `undefined` when none is set. */
function rawOf(env: Env, name: string, aliases: readonly string[]): { name: string; text: string } | undefined {
  for (const n of [name, ...aliases]) {
    const text = env[n];
    if (text !== undefined) return { name: n, text };
  }
  return undefined;
}

/** A scalar setting: unset or blank is the default, anything else goes through `parse`. */
function scalar<T>(name: string, fallback: T, parse: (text: string, name: string) => T, options: SettingOptions = {}): Setting<T> {
  const aliases = options.aliases ?? [];
  return {
    name,
    aliases,
    read(env) {
      const raw = rawOf(env, name, aliases);
      if (raw === undefined || raw.text.trim() === '') return fallback;
      return parse(raw.text.trim(), raw.name);
    },
  };
}

const decimal = /^[+-]?\d+$/;

/** A whole number from `min` to `max`. */
export function int(name: string, fallback: number, min: number, max: number, options?: SettingOptions): Setting<number> {
  return scalar(
    name,
    fallback,
    (text, n) => {
      const value = Number(text);
      if (!decimal.test(text) || value < min || value > max) {
        throw new ConfigError(`${n} must be an integer from ${min} to ${max}, got "${text}"`);
      }
      return value;
    },
    options,
  );
}

const yes = new Set(['1', 'true', 'yes', 'on']);
const no = new Set(['0', 'false', 'no', 'off']);

/** A switch; `fallback` undefined leaves the default to the loader (it depends on another setting). */
export function bool(name: string, fallback: boolean, options?: SettingOptions): Setting<boolean>;
export function bool(name: string, fallback: undefined, options?: SettingOptions): Setting<boolean | undefined>;
export function bool(name: string, fallback: boolean | undefined, options?: SettingOptions): Setting<boolean | undefined> {
  return scalar<boolean | undefined>(
    name,
    fallback,
    (text, n) => {
      const word = text.toLowerCase();
      if (yes.has(word)) return true;
      if (no.has(word)) return false;
      throw new ConfigError(`${n} must be on or off (1/true/yes/on or 0/false/no/off), got "${text}"`);
    },
    options,
  );
}

/** One of a fixed set of words, each standing for a value (`{ '1': 1, '3': 3 }`). */
export function choice<T>(name: string, fallback: T, choices: Readonly<Record<string, T>>, options?: SettingOptions): Setting<T> {
  return scalar(
    name,
    fallback,
    (text, n) => {
      if (Object.hasOwn(choices, text)) return choices[text] as T;
      throw new ConfigError(`${n} must be one of ${Object.keys(choices).join(', ')}, got "${text}"`);
    },
    options,
  );
}

/** Free text, optionally checked: a pattern it must match, a least length in bytes (secrets). */
export function text(
  name: string,
  fallback: string,
  check?: { pattern?: RegExp; minBytes?: number; what?: string },
  options?: SettingOptions,
): Setting<string>;
export function text(
  name: string,
  fallback: undefined,
  check?: { pattern?: RegExp; minBytes?: number; what?: string },
  options?: SettingOptions,
): Setting<string | undefined>;
export function text(
  name: string,
  fallback: string | undefined,
  check: { pattern?: RegExp; minBytes?: number; what?: string } = {},
  options?: SettingOptions,
): Setting<string | undefined> {
  return scalar<string | undefined>(
    name,
    fallback,
    (value, n) => {
      if (check.minBytes !== undefined && Buffer.byteLength(value) < check.minBytes) {
        throw new ConfigError(`${n} must be at least ${check.minBytes} bytes`);
      }
      if (check.pattern && !check.pattern.test(value))
        throw new ConfigError(`${n} must be ${check.what ?? check.pattern.source}, got "${value}"`);
      return value;
    },
    options,
  );
}

/** A file or directory, made absolute against the working directory at start (a later `chdir` cannot move it). */
export function path(name: string, fallback: string, options?: SettingOptions): Setting<string>;
export function path(name: string, fallback: undefined, options?: SettingOptions): Setting<string | undefined>;
export function path(name: string, fallback: string | undefined, options?: SettingOptions): Setting<string | undefined> {
  const given = scalar<string | undefined>(name, undefined, (value) => value, options);
  return {
    ...given,
    read(env) {
      const value = given.read(env) ?? fallback;
      return value === undefined ? undefined : resolve(value);
    },
  };
}

/** An http(s) URL (credentials allowed, as ClickHouse takes them); unset is `undefined`. */
export function httpUrl(name: string, options?: SettingOptions): Setting<string | undefined> {
  return scalar<string | undefined>(
    name,
    undefined,
    (value, n) => {
      let url: URL;
      try {
        url = new URL(value);
      } catch (err) {
        throw new ConfigError(`${n} must be an http(s) URL, got "${value}"`, { cause: err });
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`${n} must be an http(s) URL, got "${value}"`);
      return value;
    },
    options,
  );
}

/**
 * A comma-separated list, items trimmed and empty ones dropped; unset is
 * `fallback`, set but empty is an empty list. `item` checks one item and
 * returns why it is wrong, or undefined.
 */
export function list(
  name: string,
  fallback: readonly string[],
  item?: (value: string) => string | undefined,
  options: SettingOptions = {},
): Setting<readonly string[]> {
  const aliases = options.aliases ?? [];
  return {
    name,
    aliases,
    read(env) {
      const raw = rawOf(env, name, aliases);
      if (raw === undefined) return fallback;
      const values = raw.text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      for (const v of values) {
        const wrong = item?.(v);
        if (wrong !== undefined) throw new ConfigError(`${raw.name}: "${v}" ${wrong}`);
      }
      return values;
    },
  };
}
