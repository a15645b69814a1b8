/**
 * Headless Chromium for browser tests: Debian's /usr/bin/chromium driven by playwright-core (no browser download).
 * The machines have no internet, so every flag that makes Chromium phone home at start is off: without them it
 * stalls on DNS for Google services.
 */
import { accessSync, constants } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

const OFFLINE_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Why no browser test can run on this machine, or null when Chromium is there. */
export function chromiumMissingReason(): string | null {
  try {
    accessSync(CHROMIUM_PATH, constants.X_OK);
    return null;
  } catch {
    return `${CHROMIUM_PATH} is not executable (apt-get install chromium)`;
  }
}

/**
 * Launches Chromium headless. Playwright gives every launch a fresh temporary --user-data-dir of its own (it refuses
 * one in `args`) and deletes it on close, so no profile leaks between runs. A browser's first start on a new machine
 * builds its font cache and can take well over 30 s on two busy cores (CI saw a launch time out so): the timeout is
 * generous and a launch that still times out is tried once more.
 */
export async function launchChromium(): Promise<Browser> {
  const missing = chromiumMissingReason();
  if (missing) throw new Error(missing);
  const launch = () => chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: OFFLINE_FLAGS, timeout: 90_000 });
  try {
    return await launch();
  } catch (error) {
    console.warn(`Chromium did not start (${(error as Error).message.split('\n')[0]}); trying once more`);
    return launch();
  }
}
