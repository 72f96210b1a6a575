/** Pieces every view uses: cards that load their own data and show loading, unavailable and error states. */
import { ApiError } from '../api';
import { h } from '../dom';
import { formatPercent, type MessageKey, t, term } from '../i18n';

let headingCounter = 0;

/** A titled card; its heading labels the region for screen readers. */
export function card(title: string, ...children: Array<Node | string | false | undefined>): HTMLElement {
  headingCounter += 1;
  const id = `card-heading-${headingCounter}`;
  return h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id, class: 'card-title' }, title), ...children);
}

export function unavailableNotice(what: string): HTMLElement {
  return h(
    'div',
    { class: 'notice notice-unavailable', role: 'status' },
    h('strong', {}, t('state.unavailableTitle')),
    h('span', {}, t('state.unavailableBody', { what })),
  );
}

export function errorNotice(error: unknown): HTMLElement {
  return h('div', { class: 'notice notice-error', role: 'alert' }, describeError(error));
}

export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    const code = error.problem.code;
    const known = `problem.${code}` as MessageKey;
    const translated = term('problem', code);
    return translated !== code ? t(known) : t('problem.generic', { code, detail: error.message });
  }
  return t('problem.generic', { code: 'ERROR', detail: (error as Error)?.message ?? String(error) });
}

export function emptyNotice(text: string): HTMLElement {
  return h('p', { class: 'empty' }, text);
}

/**
 * Fills `container` from `load`: a loading line first, then the content, the "service
 * unavailable" state (503, or a route not there yet) or the error.
 */
export function loadInto(container: HTMLElement, what: string, load: () => Promise<Node | Node[]>): Promise<void> {
  container.replaceChildren(h('p', { class: 'loading', 'aria-busy': 'true' }, t('state.loading')));
  return load().then(
    (content) => container.replaceChildren(...(Array.isArray(content) ? content : [content])),
    (error: unknown) => container.replaceChildren(error instanceof ApiError && error.unavailable ? unavailableNotice(what) : errorNotice(error)),
  );
}

export function stateBadge(group: string, state: string): HTMLElement {
  return h('span', { class: `badge badge-${group}-${state}` }, term(group, state));
}

export function severityBadge(severity: string): HTMLElement {
  return h('span', { class: `badge severity severity-${severity}` }, term('severity', severity));
}

/** A progress bar with its value in words: `bps` may pass 10 000 (overfunded). */
export function progressBar(bps: number, label: string): HTMLElement {
  const shown = Math.max(0, Math.min(bps, 10_000));
  return h(
    'div',
    { class: 'progress', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': Math.round(shown / 100), 'aria-label': label, 'aria-valuetext': formatPercent(bps) },
    h('div', { class: `progress-fill${bps >= 10_000 ? ' progress-done' : ''}`, style: `width:${shown / 100}%` }),
  );
}

export function definitionList(rows: Array<[string, Node | string]>): HTMLElement {
  return h('dl', { class: 'facts' }, ...rows.map(([label, value]) => h('div', { class: 'fact' }, h('dt', {}, label), h('dd', {}, value))));
}

/** A table with a caption; on narrow screens the CSS turns rows into cards using data-label. */
export function table(caption: string, headers: string[], rows: Array<Array<Node | string>>): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'data' },
      h('caption', { class: 'visually-hidden' }, caption),
      h('thead', {}, h('tr', {}, ...headers.map((header) => h('th', { scope: 'col' }, header)))),
      h('tbody', {}, ...rows.map((row) => h('tr', {}, ...row.map((cell, index) => h('td', { 'data-label': headers[index] ?? '' }, cell))))),
    ),
  );
}
