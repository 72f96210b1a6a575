/**
 * Reads what schemathesis wrote: the JUnit report (one test case per operation, with its
 * failures) and the NDJSON event stream (every request sent and the answer), so the test can say
 * which operations failed how, and prove that every documented operation was really called.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export interface FuzzReport {
  /** `METHOD /path` (or `Stateful tests`) → the failures schemathesis reported for it. */
  readonly failures: ReadonlyMap<string, readonly string[]>;
  /** `METHOD /path` of every operation that got at least one answer. */
  readonly answered: ReadonlySet<string>;
  /** Answers by operation and status, for the summary. */
  readonly statusCounts: ReadonlyMap<string, ReadonlyMap<number, number>>;
  readonly requestsCount: number;
}

export function readFuzzReport(junitFile: string, ndjsonFile: string): FuzzReport {
  const failures = new Map<string, string[]>();
  const junit = readFileSync(junitFile, 'utf8');
  for (const match of junit.matchAll(/<testcase name="([^"]*)"[^>]*?(?:\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const name = decodeEntities(match[1] ?? '');
    const found = [...(match[2] ?? '').matchAll(/<(failure|error)[^>]*?message="([^"]*)"[^>]*>([\s\S]*?)<\/\1>/g)].map(
      (failure) => `${decodeEntities(failure[2] ?? '')}: ${decodeEntities(failure[3] ?? '').trim().slice(0, 2_000)}`,
    );
    if (found.length > 0) failures.set(name, found);
  }

  const answered = new Set<string>();
  const statusCounts = new Map<string, Map<number, number>>();
  let requestsCount = 0;
  for (const line of readFileSync(ndjsonFile, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const event = JSON.parse(line) as { ScenarioFinished?: { recorder: Recorder } };
    const recorder = event.ScenarioFinished?.recorder;
    if (!recorder) continue;
    for (const [caseId, interaction] of Object.entries(recorder.interactions ?? {})) {
      const value = recorder.cases?.[caseId]?.value;
      const status = interaction.response?.status_code;
      if (!value || status === undefined) continue;
      const operation = `${value.method.toUpperCase()} ${value.path}`;
      requestsCount += 1;
      answered.add(operation);
      const counts = statusCounts.get(operation) ?? new Map<number, number>();
      counts.set(status, (counts.get(status) ?? 0) + 1);
      statusCounts.set(operation, counts);
    }
  }
  return { failures, answered, statusCounts, requestsCount };
}

interface Recorder {
  readonly cases?: Record<string, { value: { method: string; path: string } }>;
  readonly interactions?: Record<string, { response?: { status_code: number } }>;
}

function decodeEntities(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#(\d+);/g, (_match, code: string) => String.fromCodePoint(Number(code)))
    .replace(/&amp;/g, '&');
}

/** `METHOD /path` of every operation in an OpenAPI document. */
export function documentedOperations(document: { paths: Record<string, Record<string, unknown>> }): string[] {
  return Object.entries(document.paths)
    .flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`))
    .sort();
}

/** Runs leave about 6 MB of reports each; keep the newest few (their names sort by time). */
export function pruneOldReports(parent: string, keep: number): void {
  let names: string[];
  try {
    names = readdirSync(parent).sort();
  } catch {
    return;
  }
  for (const name of names.slice(0, Math.max(0, names.length - keep))) rmSync(join(parent, name), { recursive: true, force: true });
}
