/**
 * A headless Chromium for the console's browser tests: playwright-core driving the Chromium that
 * @sparticuz/chromium ships inside its npm package (decompressed to the temporary directory on
 * first use; nothing is downloaded at test time). @sparticuz/chromium is an ES module, which jest's
 * CommonJS runtime cannot load, so a short Node child asks it for the binary's path and flags.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { findRepositoryRoot } from '@sizhong/testkit';
import { type Browser, chromium, type Page } from 'playwright-core';

interface ChromiumLaunch {
  readonly executablePath: string;
  readonly args: string[];
}

function chromiumLaunch(): ChromiumLaunch {
  const script = "import('@sparticuz/chromium').then(async ({ default: c }) => process.stdout.write(JSON.stringify({ executablePath: await c.executablePath(), args: c.args })))";
  const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: join(findRepositoryRoot(), 'gateway'), encoding: 'utf8', timeout: 120_000 });
  return JSON.parse(output) as ChromiumLaunch;
}

export async function launchBrowser(): Promise<Browser> {
  const launch = chromiumLaunch();
  // Its serverless flags minus --single-process: several pages (contexts) live side by side here.
  const args = launch.args.filter((arg) => arg !== '--single-process');
  return chromium.launch({ executablePath: launch.executablePath, args, headless: true });
}

/** Screenshots are test artefacts, kept under the git-ignored .cache/screenshots/console. */
export const screenshotDirectory = join(findRepositoryRoot(), '.cache', 'screenshots', 'console');

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(screenshotDirectory, { recursive: true });
  const path = join(screenshotDirectory, `${name}.png`);
  // Fonts first: the Chinese subsets load on demand and a shot taken before them shows fallback glyphs.
  await page.evaluate('document.fonts.ready.then(() => true)');
  await page.screenshot({ path, fullPage: true });
  return path;
}
