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
 * one in `args`) and deletes it on close, so no profile leaks between runs.
 */
export async function launchChromium(): Promise<Browser> {
  const missing = chromiumMissingReason();
  if (missing) throw new Error(missing);
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: OFFLINE_FLAGS, timeout: 30_000 });
}
