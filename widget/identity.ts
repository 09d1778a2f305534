/**
 * Who someone is, drawn beside their name: badges (the server's built-in
 * `host`, `moderator`, `member`, then the site's ids from the token's
 * `badges` claim) and a fan medal (`{ name, level }`). Built-in badges read in
 * the widget's language; a site badge is a `<span part="badge badge-ID">`
 * holding its id, which the site styles (an image via `::part(badge-vip)`).
 * All text goes in as text.
 */
import type { Translator } from './i18n/i18n.js';
import type { MessageKey } from './i18n/i18n.js';
import type { User } from './wire.js';
import { displayText } from './text.js';

const builtIn: Record<string, MessageKey> = {
  host: 'badge.host',
  moderator: 'badge.moderator',
  member: 'badge.member',
  admin: 'badge.admin',
};
/** Site badge ids are `[a-z0-9_-]{1,32}` (domain/auth.ts checks the claim); anything else is not drawn. */
const badgeId = /^[a-z0-9_-]{1,32}$/;

/** The badge and medal elements of `user` (none for most viewers). */
export function identityNodes(user: User | undefined, tr: Translator): HTMLElement[] {
  const out: HTMLElement[] = [];
  if (!user) return out;
  for (const id of user.badges) {
    if (!badgeId.test(id)) continue;
    const b = document.createElement('span');
    const key = builtIn[id];
    b.className = `badge badge-${id}`;
    b.setAttribute('part', `badge badge-${id}`);
    b.dataset['badge'] = id;
    b.textContent = key ? tr.t(key) : id;
    out.push(b);
  }
  const m = user.medal;
  if (m && m.name && m.level > 0) {
    const medal = document.createElement('span');
    medal.className = 'medal';
    medal.setAttribute('part', 'medal');
    const name = displayText(m.name).slice(0, 16);
    medal.title = tr.t('badge.medal', { name, level: m.level });
    const n = document.createElement('span');
    n.textContent = name;
    const level = document.createElement('b');
    level.textContent = String(m.level);
    medal.append(n, level);
    out.push(medal);
  }
  return out;
}
