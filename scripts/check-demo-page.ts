/**
 * Checks the demo as a newcomer meets it (issue 14's "done when"): after `./scripts/start.sh`,
 * opens the page at the printed address in Debian's chromium, links the README's demo image (the
 * flag of the Romans, automatic mode) and reports the boxes and entity names it shows; writes a
 * screenshot. Exits 1 unless a box is drawn and "Romans" links to "Roman".
 *
 *   npx tsx scripts/check-demo-page.ts [--url http://127.0.0.1:4000] [--key-file var/secrets/api-key]
 *     [--screenshot var/demo-page.png]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { launchBrowser } from '../test/helpers/browser.js';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: 'http://127.0.0.1:4000' },
    'key-file': { type: 'string', default: 'var/secrets/api-key' },
    screenshot: { type: 'string', default: 'var/demo-page.png' },
  },
});
const key = readFileSync(values['key-file'], 'utf8').trim();
const browser = await launchBrowser();
try {
  const page = await browser.newPage();
  await page.goto(`${values.url}/#key=${key}`);
  await page.click('#tab-link');
  await page.click('input[name="task"][value="automatic"]');
  const input = await page.$('input#image-file');
  await input!.uploadFile('test/fixtures/freeciv/flags/rome-large.png');
  await page.waitForFunction(
    () => (document.querySelector('#picture') as HTMLImageElement).complete,
  );
  await page.evaluate(() => {
    const caption = document.querySelector('#caption') as HTMLTextAreaElement;
    caption.value = 'The flag of the Romans on a hill.';
    caption.dispatchEvent(new Event('input', { bubbles: true }));
  });
  await page.click('#link-button');
  await page.waitForFunction(
    () =>
      document.querySelector('#result-summary')?.textContent !== '' ||
      !(document.querySelector('#error') as HTMLElement).hidden,
    { timeout: 120_000 },
  );
  const shown = await page.evaluate(() => ({
    error: (document.querySelector('#error') as HTMLElement).hidden
      ? null
      : document.querySelector('#error')!.textContent,
    summary: document.querySelector('#result-summary')!.textContent,
    boxes: document.querySelectorAll('#overlay g.result-box').length,
    rows: [...document.querySelectorAll('#triples tbody tr')].map((row) =>
      row.textContent?.replace(/\s+/g, ' ').trim(),
    ),
  }));
  await page.screenshot({ path: values.screenshot, fullPage: true });
  console.log(JSON.stringify(shown, null, 2));
  const romanRow = shown.rows.some((row) => row?.includes('Romans') && row.includes('Roman'));
  if (shown.error || shown.boxes === 0 || !romanRow) process.exitCode = 1;
} finally {
  await browser.close();
}
