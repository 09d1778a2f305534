/**
 * `<barrage-settings>`: the viewer's settings form. It edits a copy and
 * announces every change with `barrage-settings-change` ({ settings }); the
 * overlay applies and saves it.
 */
import { LitElement, html } from 'lit';
import type { TemplateResult } from 'lit';
import { defaultSettings, normalizeSettings } from '../settings.js';
import type { Settings } from '../settings.js';
import { emit } from '../text.js';
import { settingsPanelStyles } from './settings-panel.styles.js';

const modes = ['Scroll', 'Top', 'Bottom'];
const areas: Array<[number, string]> = [
  [1, 'Full'],
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

  private change(patch: Partial<Settings>): void {
    this.settings = normalizeSettings({ ...this.settings, ...patch });
    emit(this, 'barrage-settings-change', { settings: this.settings });
  }

  private readonly onInput = (e: Event): void => {
    const el = e.target as HTMLInputElement;
    const name = el.name;
    if (name === 'enabled') this.change({ enabled: el.checked });
    else if (name === 'blockedKeywords') this.change({ blockedKeywords: el.value.split(',') });
    else if (name === 'mode') {
      const mode = Number(el.value);
      const blocked = this.settings.blockedModes.filter((m) => m !== mode);
      this.change({ blockedModes: el.checked ? blocked : [...blocked, mode] });
    } else this.change({ [name]: Number(el.value) });
  };

  protected override render(): TemplateResult {
    const s = this.settings;
    const range = (name: keyof Settings, label: string, min: number, max: number, step: number) =>
      html`<label for=${name}>${label}</label>
        <input id=${name} name=${name} type="range" min=${min} max=${max} step=${step} .value=${String(s[name])} part="field" />`;
    return html`<form part="panel" @change=${this.onInput} @submit=${(e: Event) => e.preventDefault()}>
      <h2>Danmaku</h2>
      <label for="enabled">Show</label>
      <input id="enabled" name="enabled" type="checkbox" .checked=${s.enabled} part="field" />
      ${range('opacity', 'Opacity', 0.1, 1, 0.05)} ${range('fontScale', 'Font size', 0.5, 2, 0.1)} ${range('speed', 'Speed', 0.5, 2, 0.1)}
      <label for="area">Area</label>
      <select id="area" name="area" part="field">
        ${areas.map(([v, label]) => html`<option value=${v} ?selected=${s.area === v}>${label}</option>`)}
      </select>
      <label for="density">Most on screen</label>
      <input id="density" name="density" type="number" min="10" max="2000" step="10" .value=${String(s.density)} part="field" />
      <label for="blockedKeywords">Block words</label>
      <input
        id="blockedKeywords"
        name="blockedKeywords"
        type="text"
        placeholder="comma, separated"
        .value=${s.blockedKeywords.join(', ')}
        part="field"
      />
      <span>Modes</span>
      <span class="modes">
        ${modes.map(
          (label, m) =>
            html`<label
              ><input name="mode" type="checkbox" value=${m} .checked=${!s.blockedModes.includes(m)} part="field" />${label}</label
            >`,
        )}
      </span>
    </form>`;
  }
}
