/**
 * Ties a Lit element to a language: resolves it when the element connects
 * and whenever its own or the page's `lang` attribute changes, loads that
 * catalogue, and re-renders the element when it arrives. Until then the
 * element renders in English (the catalogue in the bundle).
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { Translator, langFor, loadMessages, messagesIfLoaded } from './i18n.js';
import type { Lang } from './i18n.js';

/** The language of one element. */
export class I18nController implements ReactiveController {
  /** The translator in use (English until the chosen catalogue has loaded). */
  tr = new Translator('en');
  private observer: MutationObserver | undefined;
  private wanted: Lang = 'en';

  constructor(private readonly host: ReactiveControllerHost & HTMLElement) {
    host.addController(this);
  }

  hostConnected(): void {
    this.resolve();
    // One observer per element, on two attributes: no cost while nothing changes.
    this.observer = new MutationObserver(() => this.resolve());
    this.observer.observe(this.host, { attributes: true, attributeFilter: ['lang'] });
    this.observer.observe(document.documentElement, { attributes: true, attributeFilter: ['lang'] });
  }

  hostDisconnected(): void {
    this.observer?.disconnect();
    this.observer = undefined;
  }

  /** The language chosen now (its catalogue may still be loading). */
  get lang(): Lang {
    return this.wanted;
  }

  /** Chooses the language again (call it after moving the element). */
  resolve(): void {
    const lang = langFor(this.host);
    if (lang === this.wanted && this.tr.lang === lang) return;
    this.wanted = lang;
    const ready = messagesIfLoaded(lang);
    if (ready) return this.use(new Translator(lang, ready));
    loadMessages(lang).then(
      (m) => this.wanted === lang && this.use(new Translator(lang, m)),
      () => undefined, // stays in the language it has; the next resolve tries again
    );
  }

  private use(tr: Translator): void {
    this.tr = tr;
    this.host.requestUpdate();
    this.host.dispatchEvent(new CustomEvent('barrage-lang-change', { detail: { lang: tr.lang }, bubbles: true, composed: true }));
  }
}
