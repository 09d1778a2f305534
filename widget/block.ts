/**
 * A viewer's block list, compiled once per settings change and asked once
 * per danmaku or chat line: blocked senders (by user id), keywords
 * (case-insensitive substrings) and patterns (case-insensitive regular
 * expressions, length-limited by settings.ts). The overlay and the chat use
 * the same one, so what is hidden on the video is hidden in the list.
 */
import type { Settings } from './settings.js';

/** The compiled block list. */
export class BlockList {
  private readonly users: ReadonlySet<string>;
  private readonly keywords: readonly string[];
  private readonly patterns: readonly RegExp[];

  constructor(settings: Pick<Settings, 'blockedUsers' | 'blockedKeywords' | 'blockedPatterns'>) {
    this.users = new Set(settings.blockedUsers.map((u) => u.id));
    this.keywords = settings.blockedKeywords.map((k) => k.toLowerCase());
    // Settings only hold patterns that compile; one that does not is skipped, never thrown.
    this.patterns = settings.blockedPatterns.flatMap((p) => {
      try {
        return [new RegExp(p, 'iu')];
      } catch {
        return [];
      }
    });
  }

  /** Whether nothing is blocked (the common case costs one check). */
  get empty(): boolean {
    return this.users.size === 0 && this.keywords.length === 0 && this.patterns.length === 0;
  }

  /** Whether a line from `userId` with `text` is hidden. */
  hides(text: string, userId: string | undefined): boolean {
    if (userId && this.users.has(userId)) return true;
    if (this.keywords.length > 0) {
      const lower = text.toLowerCase();
      for (const k of this.keywords) if (lower.includes(k)) return true;
    }
    for (const p of this.patterns) if (p.test(text)) return true;
    return false;
  }
}
