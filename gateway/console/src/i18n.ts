/**
 * Two languages, Chinese (the default) and English, one dictionary each with the same keys (the
 * compiler checks en against zh, and a test compares them). The choice is remembered in
 * localStorage; switching re-renders the current view and sets <html lang>.
 */
import { en } from './messages/en';
import { type MessageKey, zh } from './messages/zh';

export type Language = 'zh' | 'en';
export type { MessageKey };

const dictionaries: Record<Language, Record<MessageKey, string>> = { zh, en };
const languageKey = 'sizhong.language';
const listeners = new Set<() => void>();

function initialLanguage(): Language {
  try {
    const stored = localStorage.getItem(languageKey);
    if (stored === 'zh' || stored === 'en') return stored;
  } catch {
    // storage refused (private mode): the default
  }
  return 'zh';
}

let language: Language = initialLanguage();

export function currentLanguage(): Language {
  return language;
}

/** The BCP 47 tag of the current language, for <html lang> and Intl. */
export function locale(): string {
  return language === 'zh' ? 'zh-CN' : 'en';
}

export function setLanguage(next: Language): void {
  language = next;
  try {
    localStorage.setItem(languageKey, next);
  } catch {
    // not remembered; still switched
  }
  document.documentElement.lang = locale();
  for (const listener of listeners) listener();
}

export function onLanguageChange(listener: () => void): void {
  listeners.add(listener);
}

/** The message for `key`, with `{name}` placeholders filled from `values`. */
export function t(key: MessageKey, values: Record<string, string | number> = {}): string {
  const template = dictionaries[language][key];
  return template.replace(/\{(\w+)\}/g, (match, name: string) => (name in values ? String(values[name]) : match));
}

/** A translated name for a value from the API (a state, a severity), or the value itself when unknown. */
export function term(group: string, value: string): string {
  const key = `${group}.${value}` as MessageKey;
  return key in dictionaries[language] ? dictionaries[language][key] : value;
}

export function formatDateTime(iso: string | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short' }).format(date);
}

export function formatTime(iso: string | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(locale(), { hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(date);
}

export function formatNumber(value: number): string {
  return new Intl.NumberFormat(locale()).format(value);
}

export function formatPercent(bps: number): string {
  return new Intl.NumberFormat(locale(), { style: 'percent', maximumFractionDigits: 0 }).format(bps / 10_000);
}
