/**
 * The configuration loader: one set of rules for every setting, every bad
 * value a `ConfigError` naming its variable (reported together, before any
 * file is written), and a frozen tree that only the loader built from the
 * environment.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../domain/config.js';
import { settingNames } from '../../domain/config/settings.js';
import { ConfigError } from '../../domain/errors.js';
import { testConfig, testSecret } from '../helpers/config.js';

const dir = mkdtempSync(join(tmpdir(), 'barrage-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The error `testConfig(env)` throws (failing the test when it throws none). */
function errorOf(env: Record<string, string>): ConfigError {
  try {
    testConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`no error for ${JSON.stringify(env)}`);
}

describe('config - bad values', () => {
  const giftsFile = join(dir, 'gifts.json');
  writeFileSync(giftsFile, '{"gifts": [{"id": "a b", "name": "x", "priceCents": 1}]}');
  // One bad value of each kind of setting, and what the message must say.
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ['integer, not a number', { BARRAGE_AUTO_SLOW_RATE: 'abc' }, /^BARRAGE_AUTO_SLOW_RATE must be an integer from 0 to 1000000, got "abc"/],
    ['integer, out of range', { BARRAGE_BATCH_MS: '5000' }, /^BARRAGE_BATCH_MS must be an integer from 0 to 1000/],
    ['integer, not plain digits', { BARRAGE_MAX_TEXT: '1e2' }, /^BARRAGE_MAX_TEXT must be an integer/],
    ['switch', { BARRAGE_TRUST_PROXY: 'maybe' }, /^BARRAGE_TRUST_PROXY must be on or off/],
    ['choice', { BARRAGE_JS_REPLICAS: '2' }, /^BARRAGE_JS_REPLICAS must be one of 1, 3, 5, got "2"/],
    ['choice through its alias', { LOG_LEVEL: 'loud' }, /^LOG_LEVEL must be one of trace, /],
    ['list item', { BARRAGE_GUEST_ROOMS: 'lobby,no room' }, /^BARRAGE_GUEST_ROOMS: "no room" is not a room id/],
    ['list of URLs', { BARRAGE_NATS_URL: 'http://x' }, /^BARRAGE_NATS_URL: "http:\/\/x" is not a NATS URL/],
    ['secret too short', { BARRAGE_SECRET: 'short' }, /^BARRAGE_SECRET must be at least 32 bytes/],
    ['text with a pattern', { BARRAGE_ANALYTICS_DB: 'x; DROP TABLE' }, /^BARRAGE_ANALYTICS_DB must be a database name/],
    ['URL', { BARRAGE_CLICKHOUSE_URL: 'ftp://host' }, /^BARRAGE_CLICKHOUSE_URL must be an http\(s\) URL/],
    ['file it points at', { BARRAGE_GIFTS_FILE: giftsFile }, /^BARRAGE_GIFTS_FILE .*gifts\[0\]\.id/],
    [
      'pair out of order',
      { BARRAGE_LIKE_FLUSH_MS: '1500', BARRAGE_LIKE_PUSH_MS: '1000' },
      /^BARRAGE_LIKE_FLUSH_MS must be at most BARRAGE_LIKE_PUSH_MS/,
    ],
    [
      'drain delay that leaves the drain no time',
      { BARRAGE_DRAIN_DELAY_MS: '9500', BARRAGE_SHUTDOWN_DEADLINE_MS: '10000' },
      /^BARRAGE_DRAIN_DELAY_MS must leave at least 1000 ms of BARRAGE_SHUTDOWN_DEADLINE_MS \(10000\)/,
    ],
  ];
  for (const [kind, env, message] of cases) {
    it(`config - a bad ${kind} is a ConfigError naming the variable`, () => {
      expect(errorOf(env).message).toMatch(message);
    });
  }

  it('config - every bad value is reported at once', () => {
    const { message } = errorOf({
      BARRAGE_BATCH_MS: 'x',
      BARRAGE_EMOTES: '',
      BARRAGE_FILTER_MAX_TERMS: '-1',
      BARRAGE_ANALYTICS: 'sometimes',
    });
    expect(message.split('\n').map((line) => line.split(' ')[0])).toEqual([
      'BARRAGE_BATCH_MS',
      'BARRAGE_FILTER_MAX_TERMS',
      'BARRAGE_ANALYTICS',
    ]);
  });

  it('config - the NATS roles need servers; one process does not', () => {
    expect(() => loadConfig({ BARRAGE_SECRET: testSecret }, { requireNats: true })).toThrow(
      /^BARRAGE_NATS_URL \(or --nats <urls>\) is required/,
    );
    expect(loadConfig({ BARRAGE_SECRET: testSecret }).nats.servers).toEqual([]);
  });

  it('config - a bad value stops the load before the development secret is written', () => {
    const secretFile = join(dir, 'not-made', 'dev-secret');
    expect(() => loadConfig({ BARRAGE_SECRET_FILE: secretFile, BARRAGE_AUTO_SLOW_SECONDS: '0' })).toThrow(/BARRAGE_AUTO_SLOW_SECONDS/);
    expect(existsSync(secretFile)).toBe(false);
    const config = loadConfig({ BARRAGE_SECRET_FILE: secretFile });
    expect(config.auth.secretSource).toBe('file');
    expect(statSync(secretFile).mode & 0o777).toBe(0o600);
    expect(config.edge.demoTokens).toBe(true);
    // The roles never make one.
    expect(() => loadConfig({ BARRAGE_SECRET_FILE: join(dir, 'absent') }, { createSecret: false })).toThrow(/no BARRAGE_SECRET/);
  });
});

describe('config - the same rules for every setting', () => {
  it('config - switches take the same words everywhere: "no" turns analytics off', () => {
    for (const word of ['0', 'false', 'no', 'off', 'OFF', ' No '])
      expect(testConfig({ BARRAGE_ANALYTICS: word }).analytics.enabled).toBe(false);
    for (const word of ['1', 'true', 'yes', 'on', 'ON']) expect(testConfig({ BARRAGE_ANALYTICS: word }).analytics.enabled).toBe(true);
    for (const word of ['no', 'yes']) expect(testConfig({ BARRAGE_MERGE_DANMAKU: word }).edge.mergeDanmaku).toBe(word === 'yes');
  });

  it('config - unset or blank is the default; an empty list is empty', () => {
    const defaults = loadConfig({ BARRAGE_SECRET: testSecret });
    expect(defaults.analytics.enabled).toBe(true);
    expect(defaults.edge.batchWindowMs).toBe(25);
    expect(testConfig({ BARRAGE_BATCH_MS: '  ' }).edge.batchWindowMs).toBe(25);
    expect(defaults.edge.guestRooms).toBe('*');
    expect(testConfig({ BARRAGE_GUEST_ROOMS: '' }).edge.guestRooms).toEqual(new Set());
    expect(testConfig({ BARRAGE_GUEST_ROOMS: ' lobby , stage ' }).edge.guestRooms).toEqual(new Set(['lobby', 'stage']));
    expect(testConfig({ BARRAGE_EMOTES: '[doge], [smile]' }).moderation.emotes).toEqual(['[doge]', '[smile]']);
    expect(defaults.edge.demoTokens).toBe(false);
  });

  it('config - values derived once: the API key, the receipt secret, idle rooms in ms', () => {
    const config = testConfig({ BARRAGE_ROOM_IDLE_SECONDS: '60' });
    expect(config.auth.apiKeyDerived).toBe(true);
    expect(config.edge.apiKey).toBe(config.auth.apiKey);
    expect(config.gifts.receiptSecret).toEqual(config.auth.secret);
    expect(config.core.roomIdleMs).toBe(60_000);
    const set = testConfig({ BARRAGE_API_KEY: 'k'.repeat(32), BARRAGE_RECEIPT_SECRET: 'r'.repeat(32) });
    expect(set.auth).toMatchObject({ apiKey: 'k'.repeat(32), apiKeyDerived: false });
    expect(new TextDecoder().decode(set.gifts.receiptSecret)).toBe('r'.repeat(32));
  });

  it('config - the tree is frozen: a module cannot change what another is told', () => {
    const config = testConfig();
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.edge)).toBe(true);
    expect(Object.isFrozen(config.gifts.superChatTiers)).toBe(true);
    expect(() => {
      (config.edge as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it('config - only the loader reads the environment: no process.env in core, domain, edge or widget', () => {
    const offenders: string[] = [];
    const walk = (folder: string): void => {
      for (const name of readdirSync(folder)) {
        const file = join(folder, name);
        if (statSync(file).isDirectory()) walk(file);
        else if (file.endsWith('.ts') && readFileSync(file, 'utf8').includes('process.env')) offenders.push(file);
      }
    };
    for (const folder of ['core', 'domain', 'edge', 'widget', 'proto']) walk(folder);
    expect(offenders).toEqual([]);
  });

  it('config - the table names each variable once', () => {
    const names = settingNames();
    expect(new Set(names).size).toBe(names.length);
  });
});
