/**
 * The Sizhong web console: a small single-page application served by the gateway at `/`. Hash
 * routes (#/dashboard, #/market, #/campaigns/<id>, #/me, #/sign-in); every view is a function that
 * draws into <main> and is simply drawn again on a language switch.
 */
import './styles.css';
import { currentSession, hasRole, onSessionChange, setSession } from './api';
import { disposeCharts } from './charts';
import { h } from './dom';
import { stopFeed } from './feed';
import { currentLanguage, locale, type MessageKey, onLanguageChange, setLanguage, t } from './i18n';
import { renderCampaign } from './views/campaign';
import { renderDashboard } from './views/dashboard';
import { renderMarket } from './views/market';
import { renderMe } from './views/me';
import { renderSignIn } from './views/sign-in';

interface Route {
  readonly name: 'sign-in' | 'dashboard' | 'market' | 'campaign' | 'me';
  readonly id?: string;
}

function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'campaigns' && parts[1]) return { name: 'campaign', id: parts[1] };
  if (parts[0] === 'dashboard' || parts[0] === 'market' || parts[0] === 'me' || parts[0] === 'sign-in') return { name: parts[0] };
  return { name: 'sign-in' };
}

/** Where a participant lands after signing in: regulators on their dashboard, others on the market. */
export function homeRoute(): string {
  return hasRole('regulator', 'admin') ? '#/dashboard' : '#/market';
}

export function navigate(hash: string): void {
  if (location.hash === hash) render();
  else location.hash = hash;
}

const titles: Record<Route['name'], MessageKey> = {
  'sign-in': 'signIn.title',
  dashboard: 'nav.dashboard',
  market: 'nav.market',
  campaign: 'campaign.title',
  me: 'nav.me',
};

function header(route: Route): HTMLElement {
  const session = currentSession();
  const links: Array<[string, MessageKey, Route['name'][]]> = session
    ? [
        ...(hasRole('regulator', 'admin') ? ([['#/dashboard', 'nav.dashboard', ['dashboard']]] as Array<[string, MessageKey, Route['name'][]]>) : []),
        ['#/market', 'nav.market', ['market', 'campaign']],
        ['#/me', 'nav.me', ['me']],
      ]
    : [];
  const switchTo = currentLanguage() === 'zh' ? 'en' : 'zh';
  return h(
    'header',
    { class: 'topbar' },
    h('a', { class: 'skip-link', href: '#main' , onclick: (event: Event) => { event.preventDefault(); document.getElementById('main')?.focus(); } }, t('nav.skip')),
    h('div', { class: 'brand' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, '四'), h('span', { class: 'brand-name' }, t('app.name')), h('span', { class: 'brand-tagline' }, t('app.tagline'))),
    h(
      'nav',
      { class: 'nav', 'aria-label': t('nav.label') },
      ...links.map(([href, key, names]) => h('a', { href, class: 'nav-link', 'aria-current': names.includes(route.name) ? 'page' : undefined }, t(key))),
    ),
    h(
      'div',
      { class: 'topbar-tools' },
      h(
        'button',
        { type: 'button', class: 'button button-ghost lang-switch', lang: switchTo === 'en' ? 'en' : 'zh-CN', 'aria-label': t('language.switchLabel'), onclick: () => setLanguage(switchTo) },
        t('language.other'),
      ),
      session &&
        h('span', { class: 'who' }, h('span', { class: 'visually-hidden' }, t('nav.signedInAs')), session.displayName),
      session &&
        h(
          'button',
          {
            type: 'button',
            class: 'button button-ghost',
            onclick: () => {
              stopFeed();
              setSession(undefined);
              navigate('#/sign-in');
            },
          },
          t('nav.signOut'),
        ),
    ),
  );
}

function footer(): HTMLElement {
  return h(
    'footer',
    { class: 'footer' },
    h('span', {}, t('footer.note')),
    h('nav', { 'aria-label': t('footer.links') }, h('a', { href: '/docs' }, t('footer.api')), ' · ', h('a', { href: '/openapi.json' }, 'OpenAPI'), ' · ', h('a', { href: '/readyz' }, t('footer.readiness'))),
  );
}

let lastRouteKey = '';

function render(): void {
  let route = parseRoute(location.hash);
  const session = currentSession();
  if (!session && route.name !== 'sign-in') route = { name: 'sign-in' };
  if (session && route.name === 'sign-in') {
    location.replace(homeRoute());
    return;
  }
  disposeCharts();
  document.documentElement.lang = locale();
  const main = h('main', { id: 'main', class: 'main', tabindex: -1 });
  const app = document.getElementById('app');
  if (!app) return;
  app.className = 'app';
  app.replaceChildren(header(route), main, footer());
  document.title = `${t(titles[route.name])} · ${t('app.name')}`;
  switch (route.name) {
    case 'sign-in':
      renderSignIn(main, () => navigate(homeRoute()));
      break;
    case 'dashboard':
      renderDashboard(main);
      break;
    case 'market':
      renderMarket(main);
      break;
    case 'campaign':
      renderCampaign(main, route.id ?? '');
      break;
    case 'me':
      renderMe(main);
      break;
  }
  // A new page (not a redraw in another language) moves focus to its content, as a page load would.
  const routeKey = `${route.name}/${route.id ?? ''}`;
  if (routeKey !== lastRouteKey && lastRouteKey !== '') main.focus({ preventScroll: false });
  lastRouteKey = routeKey;
}

window.addEventListener('hashchange', render);
onLanguageChange(render);
onSessionChange(() => {
  if (!currentSession()) {
    stopFeed();
    if (parseRoute(location.hash).name !== 'sign-in') navigate('#/sign-in');
  }
});
if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', render);
else render();
