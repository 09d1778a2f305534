/**
 * `<barrage-settings>`: the viewer's settings form, block lists included. It
 * edits a copy and announces every change with `barrage-settings-change`
 * ({ settings }); the overlay applies and saves it.
 *
 * @event barrage-settings-change - a field changed; `detail.settings` is the whole new settings object
 * @csspart panel - the form
 * @csspart field - every input
 * @csspart blocked-users - the list of blocked senders
 */
import { LitElement, html, nothing } from 'lit';
import type { TemplateResult } from 'lit';
import { defaultSettings, normalizeSettings, validPattern } from '../settings.js';
import type { Settings } from '../settings.js';
import { emit } from '../text.js';
import { I18nController } from '../i18n/controller.js';
import type { MessageKey } from '../i18n/i18n.js';
import { settingsPanelStyles } from './settings-panel.styles.js';

const modes: MessageKey[] = ['chat.modeScroll', 'chat.modeTop', 'chat.modeBottom'];
const areas: Array<[number, string]> = [
  [1, ''],
  [0.75, '3/4'],
  [0.5, '1/2'],
  [0.25, '1/4'],
];

/** The settings form element. */
export class BarrageSettings extends LitElement {
  static override styles = settingsPanelStyles;
  static override properties = { settings: { attribute: false } };

  /** The settings shown; the form never changes this object. */
  settings: Settings = { ...defaultSettings };
  private readonly i18n = new I18nController(this);
  /** Pattern lines the last edit could not use (invalid or too long). */
  private rejected: string[] = [];

  private change(patch: Partial<Settings>): void {
    this.settings = normalizeSettings({ ...this.settings, ...patch });
    emit(this, 'barrage-settings-change', { settings: this.settings });
  }

  private readonly onInput = (e: Event): void => {
    const el = e.target as HTMLInputElement;
    const name = el.name;
    if (name === 'enabled' || name === 'danmakuBadges') this.change({ [name]: el.checked });
    else if (name === 'blockedKeywords') this.change({ blockedKeywords: el.value.split(/[,，、]/) });
    else if (name === 'blockedPatterns') {
      const lines = el.value
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean);
      this.rejected = lines.filter((l) => !validPattern(l));
      this.change({ blockedPatterns: lines });
    } else if (name === 'mode') {
      const mode = Number(el.value);
      const blocked = this.settings.blockedModes.filter((m) => m !== mode);
      this.change({ blockedModes: el.checked ? blocked : [...blocked, mode] });
    } else if (name) this.change({ [name]: Number(el.value) });
  };

  private unblock(id: string): void {
    this.change({ blockedUsers: this.settings.blockedUsers.filter((u) => u.id !== id) });
  }

  protected override render(): TemplateResult {
    const s = this.settings;
    const tr = this.i18n.tr;
    const range = (name: keyof Settings, label: MessageKey, min: number, max: number, step: number) =>
      html`<label for=${name}>${tr.t(label)}</label>
        <input id=${name} name=${name} type="range" min=${min} max=${max} step=${step} .value=${String(s[name])} part="field" />`;
    return html`<form part="panel" @change=${this.onInput} @submit=${(e: Event) => e.preventDefault()}>
      <h2>${tr.t('settings.title')}</h2>
      <label for="enabled">${tr.t('settings.show')}</label>
      <input id="enabled" name="enabled" type="checkbox" .checked=${s.enabled} part="field" />
      ${range('opacity', 'settings.opacity', 0.1, 1, 0.05)} ${range('fontScale', 'settings.fontSize', 0.5, 2, 0.1)}
      ${range('speed', 'settings.speed', 0.5, 2, 0.1)}
      <label for="area">${tr.t('settings.area')}</label>
      <select id="area" name="area" part="field">
        ${areas.map(([v, label]) => html`<option value=${v} ?selected=${s.area === v}>${label || tr.t('settings.areaFull')}</option>`)}
      </select>
      <label for="density">${tr.t('settings.density')}</label>
      <input id="density" name="density" type="number" min="10" max="2000" step="10" .value=${String(s.density)} part="field" />
      <span>${tr.t('settings.modes')}</span>
      <span class="modes">
        ${modes.map(
          (label, m) =>
            html`<label
              ><input name="mode" type="checkbox" value=${m} .checked=${!s.blockedModes.includes(m)} part="field" />${tr.t(label)}</label
            >`,
        )}
      </span>
      <label for="danmakuBadges">${tr.t('settings.badges')}</label>
      <input id="danmakuBadges" name="danmakuBadges" type="checkbox" .checked=${s.danmakuBadges} part="field" />
      <label for="blockedKeywords">${tr.t('settings.blockWords')}</label>
      <input
        id="blockedKeywords"
        name="blockedKeywords"
        type="text"
        placeholder=${tr.t('settings.blockWordsHint')}
        .value=${s.blockedKeywords.join(', ')}
        part="field"
      />
      <label for="blockedPatterns">${tr.t('settings.blockPatterns')}</label>
      <textarea
        id="blockedPatterns"
        name="blockedPatterns"
        rows="2"
        placeholder=${tr.t('settings.blockPatternsHint')}
        .value=${[...s.blockedPatterns, ...this.rejected].join('\n')}
        part="field"
      ></textarea>
      ${
        this.rejected.length > 0
          ? html`<p class="bad" role="alert">
              ${this.rejected.map((p) => tr.t('settings.badPattern', { pattern: p.slice(0, 40) })).join(' · ')}
            </p>`
          : nothing
      }
      <span>${tr.t('settings.blockedUsers')}</span>
      <ul class="users" part="blocked-users">
        ${s.blockedUsers.length === 0 ? html`<li class="none">${tr.t('settings.noBlockedUsers')}</li>` : nothing}
        ${s.blockedUsers.map(
          (u) =>
            html`<li>
              <span>${u.name}</span>
              <button type="button" aria-label=${tr.t('settings.unblock', { name: u.name })} @click=${() => this.unblock(u.id)}>×</button>
            </li>`,
        )}
      </ul>
    </form>`;
  }
}
