/**
 * Viewer settings of the overlay, remembered in localStorage (or read from a
 * URL query on the OBS page), with the limits each value must keep.
 */

/** Share of the player height danmaku may use. */
export const DisplayArea = { Full: 1, ThreeQuarters: 0.75, Half: 0.5, Quarter: 0.25 } as const;
/** A display area fraction. */
export type DisplayArea = (typeof DisplayArea)[keyof typeof DisplayArea];

/** What a viewer can change about the overlay. */
export interface Settings {
  /** Danmaku shown at all. */
  enabled: boolean;
  /** 0.1 to 1. */
  opacity: number;
  /** 0.5 to 2, times the base font size. */
  fontScale: number;
  /** 0.5 to 2, times the base speed. */
  speed: number;
  area: DisplayArea;
  /** Most danmaku on screen at once (10 to 2000). */
  density: number;
  /** Danmaku and chat lines containing any of these (case-insensitive) are not shown. */
  blockedKeywords: string[];
  /** Regular expressions (case-insensitive, at most 100 characters each); a match hides as a keyword does. */
  blockedPatterns: string[];
  /** Senders whose danmaku and chat lines are not shown (the name is kept to list them). */
  blockedUsers: BlockedUser[];
  /** Draw badges and medals in front of danmaku (the chat always shows them). */
  danmakuBadges: boolean;
  /** Modes not shown (0 scroll, 1 top, 2 bottom). */
  blockedModes: number[];
}

/** A sender a viewer blocked. */
export interface BlockedUser {
  id: string;
  name: string;
}

/** Longest blocked pattern: a short pattern keeps matching cheap on every danmaku. */
export const maxPatternLength = 100;
const maxPatterns = 20;
const maxBlockedUsers = 500;

/** Settings of a first visit. */
export const defaultSettings: Readonly<Settings> = Object.freeze({
  enabled: true,
  opacity: 1,
  fontScale: 1,
  speed: 1,
  area: DisplayArea.Full,
  density: 300,
  blockedKeywords: [],
  blockedPatterns: [],
  blockedUsers: [],
  danmakuBadges: false,
  blockedModes: [],
});

/** Whether `pattern` can be used as a blocked pattern (compiles, not too long). */
export function validPattern(pattern: string): boolean {
  if (pattern.length === 0 || pattern.length > maxPatternLength) return false;
  try {
    new RegExp(pattern, 'iu');
    return true;
  } catch {
    return false;
  }
}

const str = (v: unknown, max: number): string => (typeof v === 'string' ? v.trim().slice(0, max) : '');

function blockedUsers(value: unknown): BlockedUser[] {
  if (!Array.isArray(value)) return [];
  const seen = new Set<string>();
  const out: BlockedUser[] = [];
  for (const u of value as unknown[]) {
    const o = (typeof u === 'object' && u !== null ? u : {}) as Record<string, unknown>;
    const id = str(o['id'], 128);
    if (!id || seen.has(id)) continue;
    seen.add(id);
    out.push({ id, name: str(o['name'], 50) || id });
  }
  // The newest blocks are kept when a list is over the limit.
  return out.slice(-maxBlockedUsers);
}

/** The localStorage key (versioned, so a future shape does not read old values wrongly). */
export const storageKey = 'barrage.settings.v1';

const clamp = (v: unknown, lo: number, hi: number, fallback: number): number =>
  typeof v === 'number' && Number.isFinite(v) ? Math.min(hi, Math.max(lo, v)) : fallback;
const areas: readonly number[] = Object.values(DisplayArea);

/** Brings any value into a valid `Settings`, keeping what is valid. */
export function normalizeSettings(value: unknown): Settings {
  const v = (typeof value === 'object' && value !== null ? value : {}) as Partial<Record<keyof Settings, unknown>>;
  const d = defaultSettings;
  return {
    enabled: typeof v.enabled === 'boolean' ? v.enabled : d.enabled,
    opacity: clamp(v.opacity, 0.1, 1, d.opacity),
    fontScale: clamp(v.fontScale, 0.5, 2, d.fontScale),
    speed: clamp(v.speed, 0.5, 2, d.speed),
    area: (areas.includes(v.area as number) ? v.area : d.area) as DisplayArea,
    density: Math.round(clamp(v.density, 10, 2000, d.density)),
    blockedKeywords: Array.isArray(v.blockedKeywords)
      ? v.blockedKeywords
          .filter((k): k is string => typeof k === 'string' && k.trim() !== '')
          .map((k) => k.trim().slice(0, 50))
          .slice(0, 100)
      : [],
    blockedPatterns: Array.isArray(v.blockedPatterns)
      ? [
          ...new Set(v.blockedPatterns.filter((p): p is string => typeof p === 'string' && validPattern(p.trim())).map((p) => p.trim())),
        ].slice(0, maxPatterns)
      : [],
    blockedUsers: blockedUsers(v.blockedUsers),
    danmakuBadges: v.danmakuBadges === true,
    blockedModes: Array.isArray(v.blockedModes) ? v.blockedModes.filter((m): m is number => m === 0 || m === 1 || m === 2) : [],
  };
}

/** Reads saved settings; defaults when none are saved or storage is unavailable. */
export function loadSettings(): Settings {
  try {
    const raw = localStorage.getItem(storageKey);
    return normalizeSettings(raw ? JSON.parse(raw) : {});
  } catch {
    return normalizeSettings({});
  }
}

const savedListeners = new Set<(settings: Settings) => void>();

/** Saves settings; a full or blocked storage only loses persistence. Listeners on this page hear of it. */
export function saveSettings(settings: Settings): void {
  try {
    localStorage.setItem(storageKey, JSON.stringify(settings));
  } catch {
    // private mode or quota: the settings still apply for this page
  }
  for (const l of savedListeners) l(settings);
}

/**
 * Calls `listener` with the settings whenever they are saved, on this page
 * (the overlay's block button) or in another tab (the `storage` event), so
 * the chat list hides what the overlay just blocked. Returns the remover.
 */
export function onSettingsSaved(listener: (settings: Settings) => void): () => void {
  const fromOtherTab = (e: StorageEvent): void => {
    if (e.key === storageKey) listener(loadSettings());
  };
  savedListeners.add(listener);
  addEventListener('storage', fromOtherTab);
  return () => {
    savedListeners.delete(listener);
    removeEventListener('storage', fromOtherTab);
  };
}

const modeNames: Record<string, number> = { scroll: 0, top: 1, bottom: 2 };

/**
 * Settings from a URL query (the OBS page): `scale`, `speed`, `opacity`,
 * `area` (1, 0.75, 0.5, 0.25), `density`, `modes` (shown modes, e.g.
 * `scroll,top`) and `block` (comma-separated keywords).
 */
export function settingsFromQuery(query: URLSearchParams): Settings {
  const num = (name: string): number | undefined => (query.has(name) ? Number(query.get(name)) : undefined);
  const modes = query.get('modes');
  const shown = modes === null ? [0, 1, 2] : modes.split(',').map((m) => modeNames[m.trim()]);
  return normalizeSettings({
    enabled: query.get('enabled') !== '0',
    opacity: num('opacity'),
    fontScale: num('scale'),
    speed: num('speed'),
    area: num('area'),
    density: num('density'),
    blockedKeywords: (query.get('block') ?? '').split(','),
    blockedModes: [0, 1, 2].filter((m) => !shown.includes(m)),
  });
}
