/**
 * The regulators' live risk feed: GET /v1/risk/feed read as a stream with the bearer token
 * (EventSource cannot send one), resumed with Last-Event-ID after a drop, with a backoff. The
 * alerts and the connection state live here, outside any view, so a re-render (a language switch)
 * keeps them; views subscribe.
 */
import { currentSession } from './api';
import { EventStreamParser } from './sse';

export interface RiskAlert {
  readonly id: string;
  readonly rule: string;
  readonly severity: string;
  readonly subject?: { kind: string; id: string };
  readonly summary?: string;
  readonly evidence?: unknown;
  readonly at?: string;
  readonly cursor?: string;
}

export type FeedState = 'idle' | 'connecting' | 'live' | 'reconnecting' | 'unavailable';

/** Alerts kept in memory for the list; older ones are still in GET /v1/risk/alerts. */
export const feedAlertsMax = 200;
const retryDefaultMs = 3_000;
const retryMaxMs = 30_000;

let state: FeedState = 'idle';
let alerts: RiskAlert[] = [];
let lastEventId: string | undefined;
let controller: AbortController | undefined;
let failures = 0;
let retryTimer: ReturnType<typeof setTimeout> | undefined;
const listeners = new Set<(added: RiskAlert[]) => void>();

export function feedState(): FeedState {
  return state;
}

export function feedAlerts(): readonly RiskAlert[] {
  return alerts;
}

export function onFeed(listener: (added: RiskAlert[]) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function notify(added: RiskAlert[]): void {
  for (const listener of listeners) listener(added);
}

function setState(next: FeedState): void {
  state = next;
  notify([]);
}

/** Adds alerts read from the list endpoint (history), keeping the newest first and each id once. */
export function mergeAlerts(incoming: readonly RiskAlert[]): RiskAlert[] {
  const known = new Set(alerts.map((alert) => alert.id));
  const added = incoming.filter((alert) => alert.id && !known.has(alert.id));
  if (added.length === 0) return [];
  alerts = [...alerts, ...added].sort((a, b) => (b.at ?? '').localeCompare(a.at ?? '')).slice(0, feedAlertsMax);
  return added;
}

export function startFeed(): void {
  if (controller || retryTimer) return;
  void connect();
}

export function stopFeed(): void {
  controller?.abort();
  controller = undefined;
  if (retryTimer) clearTimeout(retryTimer);
  retryTimer = undefined;
  alerts = [];
  lastEventId = undefined;
  failures = 0;
  state = 'idle';
}

function scheduleRetry(delayMs: number, next: FeedState): void {
  controller = undefined;
  setState(next);
  retryTimer = setTimeout(() => {
    retryTimer = undefined;
    void connect();
  }, delayMs);
}

async function connect(): Promise<void> {
  const session = currentSession();
  if (!session) return;
  controller = new AbortController();
  // A stream the server ended cleanly is resumed at once and still counts as live.
  if (state !== 'live') setState(failures === 0 ? 'connecting' : 'reconnecting');
  const headers: Record<string, string> = { Accept: 'text/event-stream', Authorization: `Bearer ${session.token}` };
  if (lastEventId) headers['Last-Event-ID'] = lastEventId;
  const parser = new EventStreamParser();
  try {
    const response = await fetch('/v1/risk/feed', { headers, signal: controller.signal, cache: 'no-store' });
    if (!response.ok || !response.body) {
      failures += 1;
      // 503/404: the risk service is not there (yet); look again later, slowly.
      scheduleRetry(retryMaxMs, 'unavailable');
      return;
    }
    failures = 0;
    if (state !== 'live') setState('live');
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      const added: RiskAlert[] = [];
      for (const event of parser.push(value)) {
        if (event.id) lastEventId = event.id;
        if (event.event !== 'alert') continue;
        try {
          added.push(...mergeAlerts([JSON.parse(event.data) as RiskAlert]));
        } catch {
          // a malformed event is skipped, the stream goes on
        }
      }
      if (added.length > 0) notify(added);
    }
    // The server ended the stream (a deploy, a proxy's time limit): resume after its retry delay.
    scheduleRetry(parser.retryMs ?? retryDefaultMs, 'live');
  } catch (error) {
    if ((error as Error).name === 'AbortError') return;
    failures += 1;
    scheduleRetry(Math.min(retryMaxMs, (parser.retryMs ?? retryDefaultMs) * 2 ** Math.min(failures - 1, 4)), 'reconnecting');
  }
}
