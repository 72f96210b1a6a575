/**
 * Reads a V8 .cpuprofile (BENCH_CPU_PROFILE=1 writes them to .cache/bench-profiles/) and prints
 * where the process spent its CPU: self time by package or source folder, the functions with the
 * most self time, and the functions with the most inclusive time (a function's own time plus its
 * callees', counted once per sample even under recursion).
 *
 *   npx tsx bench/diagnostics/summarize-cpu-profile.ts <file.cpuprofile> [rows]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** `node_modules/@grpc/grpc-js`, `services/escrow/src/app`, `node:internal`, `(garbage collector)`, … */
function placeOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node:internal';
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules?.[1] !== undefined) return `node_modules/${modules[1]}`;
  const source = /\/work\/[^/]+\/(.+)\/[^/]+$/.exec(url.replace(/^file:\/\//, ''));
  return source?.[1] ?? url;
}

function frameName(node: ProfileNode): string {
  const frame = node.callFrame;
  const file = frame.url.replace(/^file:\/\//, '').replace(/.*\/(node_modules|work\/[^/]+)\//, '');
  return `${frame.functionName || '(anonymous)'} ${file}:${frame.lineNumber + 1}`;
}

function addTo(totals: Map<string, number>, key: string, amount: number): void {
  totals.set(key, (totals.get(key) ?? 0) + amount);
}

function printTop(title: string, totals: Map<string, number>, totalUs: number, rows: number): void {
  console.log(`\n${title}`);
  for (const [key, microseconds] of [...totals.entries()].sort(([, left], [, right]) => right - left).slice(0, rows)) {
    console.log(`  ${((microseconds / totalUs) * 100).toFixed(1).padStart(5)} %  ${(microseconds / 1_000).toFixed(0).padStart(7)} ms  ${key}`);
  }
}

function summarize(path: string, rows: number): void {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const selfByPlace = new Map<string, number>();
  const selfByFunction = new Map<string, number>();
  const inclusiveByFunction = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  profile.samples.forEach((sampleId, index) => {
    const deltaUs = profile.timeDeltas[index] ?? 0;
    const node = byId.get(sampleId);
    if (!node) return;
    if (node.callFrame.functionName === '(idle)') {
      idleUs += deltaUs;
      return;
    }
    totalUs += deltaUs;
    addTo(selfByPlace, placeOf(node.callFrame.url, node.callFrame.functionName), deltaUs);
    addTo(selfByFunction, frameName(node), deltaUs);
    const seen = new Set<string>();
    for (let current: ProfileNode | undefined = node; current; current = byId.get(parentOf.get(current.id) ?? -1)) {
      const name = frameName(current);
      if (seen.has(name)) continue;
      seen.add(name);
      addTo(inclusiveByFunction, name, deltaUs);
    }
  });
  console.log(`${path}: ${(totalUs / 1_000).toFixed(0)} ms on CPU, ${(idleUs / 1_000).toFixed(0)} ms idle`);
  printTop('Self time by package or folder', selfByPlace, totalUs, rows);
  printTop('Self time by function', selfByFunction, totalUs, rows);
  printTop('Inclusive time by function', inclusiveByFunction, totalUs, rows * 2);
}

const [path, rows] = process.argv.slice(2);
if (path === undefined) {
  console.error('usage: npx tsx bench/diagnostics/summarize-cpu-profile.ts <file.cpuprofile> [rows]');
  process.exit(2);
}
summarize(path, Number(rows ?? 25));
