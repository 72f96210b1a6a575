/**
 * The per-user cache of downloads and builds (`~/.cache/sizhong/<tool>-<version>/`). An entry
 * appears all at once: it is built in a sibling temporary directory and renamed into place, so an
 * interrupted download or build never leaves a half-filled entry that later runs would trust.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { isProcessAlive } from './processes';

const partialMarker = '.partial-';

/**
 * Returns `entryDirectory`, first building it with `build(temporaryDirectory)` unless
 * `isComplete(entryDirectory)` already holds. Concurrent builders are harmless: the first rename
 * wins and the others throw their work away.
 */
export async function ensureCacheEntry(
  entryDirectory: string,
  isComplete: (directory: string) => boolean,
  build: (temporaryDirectory: string) => Promise<void>,
): Promise<string> {
  if (isComplete(entryDirectory)) return entryDirectory;
  const parent = dirname(entryDirectory);
  mkdirSync(parent, { recursive: true });
  removeAbandonedPartials(parent);
  const temporaryDirectory = mkdtempSync(join(parent, `.${basename(entryDirectory)}${partialMarker}${process.pid}-`));
  try {
    await build(temporaryDirectory);
    if (!isComplete(temporaryDirectory)) throw new Error(`building ${entryDirectory} finished but left an incomplete result in ${temporaryDirectory}`);
    if (existsSync(entryDirectory)) {
      if (isComplete(entryDirectory)) return entryDirectory;
      // An entry from before atomic writes, or damaged by hand: replace it.
      rmSync(entryDirectory, { recursive: true, force: true });
    }
    try {
      renameSync(temporaryDirectory, entryDirectory);
    } catch (error) {
      // Another builder renamed its copy into place a moment ago.
      if (!isComplete(entryDirectory)) throw error;
    }
    return entryDirectory;
  } finally {
    rmSync(temporaryDirectory, { recursive: true, force: true });
  }
}

/** Deletes temporary directories whose builder process no longer exists (killed, crashed). */
function removeAbandonedPartials(parent: string): void {
  for (const name of readdirSync(parent)) {
    const markerAt = name.indexOf(partialMarker);
    if (!name.startsWith('.') || markerAt < 0) continue;
    const ownerPid = Number(name.slice(markerAt + partialMarker.length).split('-')[0]);
    if (Number.isInteger(ownerPid) && ownerPid > 0 && !isProcessAlive(ownerPid)) {
      rmSync(join(parent, name), { recursive: true, force: true });
    }
  }
}
