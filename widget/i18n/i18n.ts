/**
 * Languages of the widget (and of the dashboard, which imports this too).
 *
 * A language is chosen by the element's `lang` attribute, then the nearest
 * ancestor's (the page's `<html lang>`), then the browser's languages, then
 * English. English is in the bundle; the other catalogues are loaded with a
 * dynamic `import()` the first time a page asks for them, so a viewer pays
 * only for the language they read. Dates, numbers and money go through
 * `Intl` in the chosen language.
 *
 * This module does not depend on Lit: `I18nController` (controller.ts) ties
 * it to an element.
 */
import { ErrorCode } from '../../proto/gen/tables.js';
import { en } from './en.js';
import type { MessageKey, Messages } from './en.js';

export type { MessageKey, Messages };

/** The languages with a catalogue. */
export const languages = ['en', 'zh-CN', 'zh-TW', 'ja'] as const;
/** A language with a catalogue. */
export type Lang = (typeof languages)[number];

/**
 * English, the fallback of every language: the bundle's strings, joined by
 * the tools chunk's when it loads (`addEnglish`). Until then a tools key has
 * no English, which nothing asks for: only the tools chunk shows those keys.
 */
const english = { ...en } as Record<MessageKey, string>;
const loaded = new Map<Lang, Messages>([['en', english]]);

/** Adds English strings (the lazy tools chunk's) to the fallback catalogue. */
export function addEnglish(messages: Partial<Messages>): void {
  Object.assign(english, messages);
}
const loading = new Map<Lang, Promise<Messages>>();

/**
 * The catalogue language for a BCP 47 tag, or undefined when none fits:
 * `zh`, `zh-CN`, `zh-SG`, `zh-Hans-*` read simplified; `zh-TW`, `zh-HK`,
 * `zh-MO`, `zh-Hant-*` traditional; `ja-*` Japanese; `en-*` English.
 */
export function matchLang(tag: string | null | undefined): Lang | undefined {
  if (!tag) return undefined;
  const parts = tag.trim().toLowerCase().replace(/_/g, '-').split('-');
  const [base, ...rest] = parts;
  if (base === 'en') return 'en';
  if (base === 'ja') return 'ja';
  if (base !== 'zh') return undefined;
  if (rest.includes('hant') || rest.includes('tw') || rest.includes('hk') || rest.includes('mo')) return 'zh-TW';
  return 'zh-CN';
}

/** The first of `tags` with a catalogue; English when none has one. */
export function pickLang(...tags: ReadonlyArray<string | null | undefined>): Lang {
  for (const tag of tags) {
    const lang = matchLang(tag);
    if (lang) return lang;
  }
  return 'en';
}

/** The browser's preferred languages (empty outside a browser). */
function browserLanguages(): readonly string[] {
  return typeof navigator === 'undefined' ? [] : navigator.languages?.length ? navigator.languages : [navigator.language];
}

/**
 * The language for an element: its own `lang`, the nearest ancestor's
 * (inside a shadow root, the host's), then the browser's. An attribute in a
 * language without a catalogue is skipped rather than forcing English, so
 * `lang="fr"` on a page still lets a Japanese browser read Japanese.
 */
export function langFor(el: Element | null): Lang {
  const tags: Array<string | null> = [];
  let node: Element | null = el;
  while (node) {
    const own = node.closest('[lang]');
    if (own) tags.push(own.getAttribute('lang'));
    if (own?.parentElement) {
      node = own.parentElement;
      continue;
    }
    const root = (own ?? node).getRootNode();
    node = 'host' in root ? (root.host as Element) : null;
  }
  return pickLang(...tags, ...browserLanguages());
}

/** The catalogue of `lang` if it is already loaded (English always is). */
export function messagesIfLoaded(lang: Lang): Messages | undefined {
  return loaded.get(lang);
}

/** Loads the catalogue of `lang` (once; later calls share the promise). */
export function loadMessages(lang: Lang): Promise<Messages> {
  const ready = loaded.get(lang);
  if (ready) return Promise.resolve(ready);
  let p = loading.get(lang);
  if (!p) {
    p = importCatalogue(lang).then(
      (m) => {
        loaded.set(lang, m);
        return m;
      },
      (err: unknown) => {
        // A chunk that failed to load (offline, a deploy in between) is tried again next time.
        loading.delete(lang);
        throw err;
      },
    );
    loading.set(lang, p);
  }
  return p;
}

async function importCatalogue(lang: Lang): Promise<Messages> {
  // One literal import per language, so the bundler makes one chunk of each.
  switch (lang) {
    case 'zh-CN':
      return (await import('./zh-CN.js')).messages;
    case 'zh-TW':
      return (await import('./zh-TW.js')).messages;
    case 'ja':
      return (await import('./ja.js')).messages;
    default:
      return english;
  }
}

/** Fills `{name}` placeholders; an unknown placeholder stays as written. */
export function format(template: string, vars?: Readonly<Record<string, string | number>>): string {
  if (!vars) return template;
  return template.replace(/\{(\w+)\}/g, (all, name: string) => (name in vars ? String(vars[name]) : all));
}

/** Strings, numbers, money and dates in one language. */
export class Translator {
  private numberFmt: Intl.NumberFormat | undefined;
  private compactFmt: Intl.NumberFormat | undefined;
  private timeFmt: Intl.DateTimeFormat | undefined;
  private dateTimeFmt: Intl.DateTimeFormat | undefined;
  private readonly moneyFmts = new Map<string, Intl.NumberFormat>();

  constructor(
    readonly lang: Lang,
    private readonly messages: Messages = loaded.get(lang) ?? english,
  ) {}

  /** The string for `key` with its placeholders filled. */
  t(key: MessageKey, vars?: Readonly<Record<string, string | number>>): string {
    return format(this.messages[key] ?? english[key] ?? key, vars);
  }

  /** A count as this language writes it (`12,345`). */
  number(n: number): string {
    return (this.numberFmt ??= new Intl.NumberFormat(this.lang)).format(n);
  }

  /** A count as counters show it: exact below 10,000, then compact (`1.2万`, `12K`). */
  compact(n: number): string {
    if (n < 10_000) return String(n);
    return (this.compactFmt ??= new Intl.NumberFormat(this.lang, { notation: 'compact', maximumFractionDigits: 1 })).format(n);
  }

  /**
   * An amount in cents: with the currency's symbol when `currency` (ISO 4217,
   * e.g. `CNY`) is known, else as a plain amount with two decimals.
   */
  money(cents: number, currency = ''): string {
    let fmt = this.moneyFmts.get(currency);
    if (!fmt) {
      try {
        fmt = currency
          ? new Intl.NumberFormat(this.lang, { style: 'currency', currency })
          : new Intl.NumberFormat(this.lang, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
      } catch {
        // not a currency code Intl knows: a plain amount rather than an exception in render
        fmt = new Intl.NumberFormat(this.lang, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
      }
      this.moneyFmts.set(currency, fmt);
    }
    return fmt.format(cents / 100);
  }

  /** A time of day (`20:15`), for today's events. */
  time(ms: number): string {
    return (this.timeFmt ??= new Intl.DateTimeFormat(this.lang, { hour: '2-digit', minute: '2-digit' })).format(ms);
  }

  /** A date and time (`2026/11/25 20:15`). */
  dateTime(ms: number): string {
    return (this.dateTimeFmt ??= new Intl.DateTimeFormat(this.lang, { dateStyle: 'medium', timeStyle: 'short' })).format(ms);
  }
}

/** A translator for `lang`, loading its catalogue first. */
export async function translator(lang: Lang): Promise<Translator> {
  return new Translator(lang, await loadMessages(lang));
}

/** What a viewer reads for each ErrorCode the widget can meet. */
const errorKeys: Partial<Record<number, MessageKey>> = {
  [ErrorCode.BadFrame]: 'error.frame',
  [ErrorCode.UnknownFrame]: 'error.frame',
  [ErrorCode.FrameTooLarge]: 'error.tooLarge',
  [ErrorCode.TextEmpty]: 'error.textEmpty',
  [ErrorCode.TextTooLong]: 'error.textTooLong',
  [ErrorCode.TextInvalid]: 'error.textInvalid',
  [ErrorCode.InvalidUtf8]: 'error.textInvalid',
  [ErrorCode.InvalidMode]: 'error.mode',
  [ErrorCode.InvalidColor]: 'error.color',
  [ErrorCode.RateLimited]: 'error.rateLimited',
  [ErrorCode.ReadOnly]: 'error.readOnly',
  [ErrorCode.Forbidden]: 'error.forbidden',
  [ErrorCode.Muted]: 'error.muted',
  [ErrorCode.Banned]: 'error.banned',
  [ErrorCode.SlowMode]: 'error.slowMode',
  [ErrorCode.BlockedText]: 'error.blockedText',
  [ErrorCode.Unavailable]: 'error.unavailable',
  [ErrorCode.InvalidArgument]: 'error.invalidArgument',
  [ErrorCode.RoomMode]: 'error.roomMode',
  [ErrorCode.NotFound]: 'error.notFound',
  [ErrorCode.Held]: 'error.held',
  [ErrorCode.RoomClosed]: 'error.roomClosed',
  [ErrorCode.LimitReached]: 'error.limitReached',
  [ErrorCode.ReportDuplicate]: 'error.reportDuplicate',
};

/**
 * An error frame as the viewer should read it: the catalogue's sentence for
 * its code; for a code without one, the server's (English) message in
 * English and a generic sentence in other languages.
 */
export function errorText(tr: Translator, code: number, serverMessage: string): string {
  const key = errorKeys[code];
  if (key) return tr.t(key);
  return tr.lang === 'en' && serverMessage ? serverMessage : tr.t('error.generic');
}
