import { existsSync } from 'node:fs';
import puppeteer, { type Browser } from 'puppeteer-core';

/**
 * Debian's chromium (scripts/setup-browser.sh installs it): puppeteer's own browser download needs
 * hosts these machines cannot reach. POLYLINK_CHROMIUM names another binary.
 */
export function chromiumPath(): string {
  const candidates = [
    process.env.POLYLINK_CHROMIUM,
    '/usr/bin/chromium',
    '/usr/bin/chromium-browser',
  ];
  const found = candidates.find((candidate) => candidate && existsSync(candidate));
  if (!found) {
    throw new Error('No chromium found: run scripts/setup-browser.sh (or set POLYLINK_CHROMIUM)');
  }
  return found;
}

export function launchBrowser(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    // Root in a container: Chromium's sandbox needs user namespaces these machines do not give.
    args: [
      '--no-sandbox',
      '--disable-dev-shm-usage',
      '--disable-gpu',
      '--font-render-hinting=none',
    ],
    defaultViewport: { width: 1280, height: 900 },
  });
}
