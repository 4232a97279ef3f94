import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../helpers/browser.js';
import { PAGE_CONTENT_SECURITY_POLICY } from '../../src/http/web-routes.js';
import { BROWSER_GUIDE_MARKDOWN } from '../../src/paths.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

/** What the callbacks run in Neo4j Browser's page touch (the DOM lib would retype Node's fetch). */
declare const document: {
  readonly body: { readonly innerText: string };
  querySelector(selector: string): unknown;
  querySelectorAll(
    selector: string,
  ): Iterable<{ readonly textContent: string | null; click(): void }>;
};

// The page's files and the Neo4j Browser guide, served by the real app (over HTTP, no key).
describe('the page and the Neo4j Browser guide over HTTP', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ POLYLINK_MODELS: 'false' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('serves the page at / with a policy that forbids other hosts and inline script', async () => {
    const response = await fetch(`${t.app.url}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('content-security-policy')).toBe(PAGE_CONTENT_SECURITY_POLICY);
    const html = await response.text();
    expect(html).toContain('<script type="module" src="/app.js"></script>');
    // Every script and stylesheet the page names is local and served.
    const assets = [...html.matchAll(/(?:src|href)="(\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]!);
    expect(assets.sort()).toEqual(['/app.js', '/style.css']);
    for (const asset of [
      '/app.js',
      '/api.js',
      '/ui.js',
      '/link-view.js',
      '/entities-view.js',
      '/style.css',
    ]) {
      const file = await fetch(`${t.app.url}${asset}`);
      expect(file.status, asset).toBe(200);
      expect(file.headers.get('content-type'), asset).toMatch(
        asset.endsWith('.js') ? /javascript/ : /text\/css/,
      );
      expect(await file.text(), asset).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    }
  });

  it('tells the page where Neo4j Browser and the guide are', async () => {
    const response = await fetch(`${t.app.url}/page-config.json`);
    expect(await response.json()).toEqual({
      neo4jBrowserUrl: t.config.web.neo4jBrowserUrl,
      browserGuideUrl: `${t.app.url}/browser-guide`,
    });
  });

  it('still answers unknown routes with the JSON 404', async () => {
    const response = await fetch(`${t.app.url}/no-such-page.html`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({
      errors: [{ extensions: { code: 'NOT_FOUND' } }],
    });
  });

  it('serves the guide to other origins, with the style cell and the Cypher cells', async () => {
    const response = await fetch(`${t.app.url}/browser-guide`, {
      headers: { origin: 'http://127.0.0.1:7474' },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    const guide = await response.text();
    expect(guide).toContain(
      `<pre class="code runnable">:style ${t.app.url}/browser-guide/style.grass</pre>`,
    );
    const markdown = readFileSync(BROWSER_GUIDE_MARKDOWN, 'utf8');
    const firstQuery = /```cypher\n(MATCH[^`]*?)```/.exec(markdown)![1]!.trim();
    expect(guide).toContain(
      `<pre class="code runnable">${firstQuery.replaceAll('>', '&gt;').replaceAll('<', '&lt;')}</pre>`,
    );
    expect(guide).not.toMatch(/<script/i);
  });

  it('serves the Browser style: entities by name, images by URL, a colour per label', async () => {
    const response = await fetch(`${t.app.url}/browser-guide/style.grass`);
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    const grass = await response.text();
    // A rule's body runs to the first brace outside quotes ("{name}" is a property reference).
    const rule = (selector: string) =>
      new RegExp(`^${selector.replace('.', '\\.')} \\{((?:[^}"]|"[^"]*")*)\\}`, 'm').exec(
        grass,
      )?.[1] ?? '';
    expect(rule('node.Entity')).toContain('caption: "{name}"');
    expect(rule('node.Image')).toContain('caption: "{url}"');
    const colours = ['Entity', 'Image', 'LinkedImage', 'Finding'].map(
      (label) => /color: (#[0-9A-F]{6});/.exec(rule(`node.${label}`))?.[1],
    );
    expect(new Set(colours).size).toBe(4);
  });

  it('plays in the local Neo4j Browser, whose first cell applies the style', async () => {
    // The Browser the db/neo4j scripts serve (their conf allows guides from 127.0.0.1).
    const neo4jHttp = `http://127.0.0.1:${process.env.NEO4J_HTTP_PORT ?? '7474'}`;
    const bolt = new URL(t.config.neo4j.uri).port;
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      const bodyText = () => page.evaluate(() => document.body.innerText);
      await page.goto(`${neo4jHttp}/browser/?connectURL=bolt://127.0.0.1:${bolt}`);
      // Auth is off on the test server: connect without credentials when Browser asks. Browser
      // shows its connect form at once and then re-renders it while it tries the connect URL on
      // its own, so a click can land on a detached form: retry until the prompt shows.
      const connected = () => document.body.innerText.includes('neo4j$');
      const deadline = Date.now() + 90_000;
      while (!(await page.evaluate(connected))) {
        if (Date.now() > deadline) throw new Error('Neo4j Browser did not connect in 90 s');
        const form = await page.$('select[data-testid="authenticationMethod"]');
        if (form) {
          try {
            await page.select('select[data-testid="authenticationMethod"]', 'NO_AUTH');
            await page.click('button[data-testid="connect"]');
            await page.waitForFunction(connected, { timeout: 15_000 });
          } catch {
            // The form was replaced while we used it, or the attempt is still running: look again.
          }
        } else {
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }
      await page.click('.monaco-editor');
      await page.keyboard.type(`:play ${t.app.url}/browser-guide`);
      await page.keyboard.press('Enter');
      await page.waitForFunction(() =>
        document.body.innerText.includes('Linked images in Neo4j Browser'),
      );
      const cells = await page.evaluate(() =>
        [...document.querySelectorAll('pre.runnable')].map((cell) => cell.textContent?.trim()),
      );
      const styleCell = `:style ${t.app.url}/browser-guide/style.grass`;
      expect(cells).toContain(styleCell);
      // Clicking a cell puts it in the editor; running it loads the style from the service.
      await page.evaluate((text) => {
        const cell = [...document.querySelectorAll('pre.runnable')].find(
          (element) => element.textContent?.trim() === text,
        );
        cell!.click();
      }, styleCell);
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => document.body.innerText.includes('node.Entity'));
      expect(await bodyText()).not.toMatch(/Could not parse|not allowed/i);
    } finally {
      await browser.close();
    }
  }, 180_000);
});
