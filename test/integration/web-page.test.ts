import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/paths.js';
import { launchBrowser } from '../helpers/browser.js';
import {
  fixtureNation,
  loadFixtureNations,
  loadedBundle,
  readFixture,
  toDataUrl,
} from '../helpers/fixtures.js';
import { removeLinkedImages, startTestApp, type TestApp } from '../helpers/test-app.js';
import { readFileSync } from 'node:fs';

/**
 * The callbacks given to page.evaluate run in the browser. The little of the DOM they touch is
 * declared here: the DOM lib would retype fetch and Blob for the whole Node program.
 */
interface BrowserElement {
  readonly dataset: Record<string, string | undefined>;
  readonly tagName: string;
  readonly hidden: boolean;
  readonly complete: boolean;
  readonly href: string;
  textContent: string | null;
  value: string;
  getAttribute(name: string): string | null;
  querySelector(selector: string): BrowserElement | null;
  querySelectorAll(selector: string): Iterable<BrowserElement>;
  focus(): void;
  setSelectionRange(start: number, end: number): void;
  dispatchEvent(event: unknown): boolean;
}
declare const document: Pick<BrowserElement, 'querySelector' | 'querySelectorAll'>;
declare const Event: new (type: string) => unknown;

const textOf = (page: Page, selector: string) =>
  page.evaluate((s) => document.querySelector(s)?.textContent ?? null, selector);
const valueOf = (page: Page, selector: string) =>
  page.evaluate((s) => document.querySelector(s)?.value ?? null, selector);
const countOf = (page: Page, selector: string) =>
  page.evaluate((s) => [...document.querySelectorAll(s)].length, selector);
/** Sets a field as typing would end, with the `input` event the page listens to. */
const setValue = (page: Page, selector: string, value: string) =>
  page.evaluate(
    (s, v) => {
      const element = document.querySelector(s)!;
      element.value = v;
      element.dispatchEvent(new Event('input'));
    },
    selector,
    value,
  );

// The page at `/` in a real browser (Debian's chromium, puppeteer-core), on the real app, Neo4j and
// linker. POLYLINK_PAGE_SCREENSHOT=docs/page.png also writes the README's screenshot.
const { dir: bundleDir, hasLinker } = loadedBundle();
const SCREENSHOT = process.env.POLYLINK_PAGE_SCREENSHOT;

interface KbLine {
  id: string;
  name: string;
  aliases: string[];
  description: string;
  tags: string[];
  images: { path: string }[];
}
interface QueryLine {
  id: string;
  caption: string;
  image: string;
  mentions: { id: string; start: number; end: number; text: string; gold: string | null }[];
  regions: { id: string; box: [number, number, number, number]; gold: string | null }[];
  pairs: { mention: string; region: string }[];
}
const readJsonl = <T>(file: string): T[] =>
  readFileSync(path.join(PROJECT_ROOT, file), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
const KB = readJsonl<KbLine>('test/fixtures/benchmark/kb.jsonl');
const SCENE = readJsonl<QueryLine>('test/fixtures/benchmark/queries.jsonl').find(
  (q) => q.id === 'q-000008',
)!;

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}
function iou(a: Box, b: Box): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  const inter = w > 0 && h > 0 ? w * h : 0;
  return inter / (a.width * a.height + b.width * b.height - inter);
}

/** What the page shows: each triple's row, its box in the picture and its mark in the caption. */
interface Shown {
  rows: { triple: string; mention: string; entity: string; nil: boolean; register: boolean }[];
  boxes: (Box & { triple: string })[];
  marks: { triple: string; text: string }[];
}
function readShown(page: Page): Promise<Shown> {
  return page.evaluate(() => {
    const rows = [...document.querySelectorAll('#triples tbody tr')].map((row) => {
      const cells = [...row.querySelectorAll('td')];
      return {
        triple: row.dataset.triple ?? '',
        mention: cells[0]?.textContent ?? '',
        entity: cells[2]?.querySelector('button')?.textContent ?? '',
        nil: cells[2]?.textContent === 'NIL',
        register: row.querySelector('button.register') !== null,
      };
    });
    const boxes = [...document.querySelectorAll('#overlay g.result-box')].map((group) => {
      const rect = group.querySelector('rect')!;
      const number = (name: string) => Number(rect.getAttribute(name));
      return {
        triple: group.dataset.triple ?? '',
        x: number('x'),
        y: number('y'),
        width: number('width'),
        height: number('height'),
      };
    });
    const marks = [...document.querySelectorAll('#caption-view mark')].map((mark) => ({
      triple: mark.dataset.triple ?? '',
      text: mark.textContent ?? '',
    }));
    return { rows, boxes, marks };
  });
}

async function setCaption(page: Page, caption: string): Promise<void> {
  await setValue(page, '#caption', caption);
}

async function pickImage(page: Page, file: string): Promise<void> {
  const input = await page.$('input#image-file');
  await input!.uploadFile(file);
  await page.waitForFunction(() => document.querySelector('#picture')!.complete);
}

/** Clicks Link and waits for the triples of this request (the summary changes with each answer). */
async function link(page: Page): Promise<void> {
  await page.evaluate(() => {
    document.querySelector('#result-summary')!.textContent = '';
  });
  await page.click('#link-button');
  await page.waitForFunction(
    () =>
      document.querySelector('#result-summary')?.textContent !== '' ||
      !document.querySelector('#error')!.hidden,
    { timeout: 60_000 },
  );
  const error = await page.evaluate(() => {
    const banner = document.querySelector('#error')!;
    return banner.hidden ? null : banner.textContent;
  });
  expect(error).toBeNull();
}

describe.skipIf(!hasLinker)(
  `the page in Chromium (${hasLinker ? bundleDir : `skipped: the bundle at ${bundleDir} has no linker`})`,
  () => {
    let t: TestApp;
    let browser: Browser;
    let page: Page;
    let scratch: string;
    const entityName = (benchmarkId: string) => KB.find((e) => e.id === benchmarkId)!.name;

    beforeAll(async () => {
      t = await startTestApp();
      const mime = (file: string) => (file.endsWith('.svg') ? 'image/svg+xml' : 'image/png');
      const registered = await t.graphql(
        `mutation ($inputs: [EntityInput!]!) { registerEntities(inputs: $inputs) { status } }`,
        {
          inputs: KB.map((entity) => ({
            id: `${t.prefix}${entity.id}`,
            name: entity.name,
            aliases: entity.aliases,
            description: entity.description,
            domain: t.domain,
            tags: entity.tags,
            images: entity.images.map((image) => ({
              dataUrl: toDataUrl(readFixture(image.path), mime(image.path)),
            })),
          })),
        },
      );
      expect(registered.errors).toBeUndefined();
      // The demo's kind of graph too (scripts/start.sh loads Freeciv nations), in a domain of its own.
      const nations = await t.graphql(
        `mutation ($inputs: [EntityInput!]!) { registerEntities(inputs: $inputs) { status } }`,
        {
          inputs: [...loadFixtureNations().values()].map((nation) => ({
            id: `${t.prefix}${nation.id}`,
            name: nation.name,
            aliases: nation.aliases,
            description: nation.description,
            domain: `${t.domain}-demo`,
            images: nation.images.map((image) => ({ dataUrl: toDataUrl(readFixture(image.path)) })),
          })),
        },
      );
      expect(nations.errors).toBeUndefined();
      scratch = await mkdtemp(path.join(os.tmpdir(), 'polylink-page-'));
      browser = await launchBrowser();
      page = await browser.newPage();
      const pageErrors: string[] = [];
      page.on('pageerror', (error) => pageErrors.push(String(error)));
      // The demo's way in: the key in the address's fragment, moved to sessionStorage.
      await page.goto(`${t.app.url}/#key=${encodeURIComponent(t.adminKey)}`);
      await page.waitForSelector('body[data-ready="true"]');
      expect(pageErrors).toEqual([]);
    });

    afterAll(async () => {
      await browser?.close();
      if (scratch) await rm(scratch, { recursive: true, force: true });
      if (t) {
        await removeLinkedImages(t.graph, t.domain);
      }
      await t?.close();
    });

    it('takes the key from the address and leaves it out of the address bar', async () => {
      expect(await textOf(page, '#key-state')).toBe('key accepted');
      expect(new URL(page.url()).hash).toBe('');
      const options = await page.evaluate(() =>
        [...document.querySelectorAll('#domain option')].map((option) => option.value),
      );
      expect(options).toContain(t.domain);
    });

    it('links a fixture scene and shows its boxes, mentions and entity names', async () => {
      await page.select('#domain', t.domain);
      await pickImage(page, path.join(PROJECT_ROOT, SCENE.image));
      await setCaption(page, SCENE.caption);
      await link(page); // automatic: mentions and regions found by the service
      const shown = await readShown(page);
      // Every gold mention is highlighted and its row names the gold entity.
      for (const mention of SCENE.mentions) {
        const mark = shown.marks.find((m) => m.text === mention.text);
        expect(mark, mention.text).toBeDefined();
        const row = shown.rows.find((r) => r.triple === mark!.triple)!;
        expect(row.entity).toBe(entityName(mention.gold!));
      }
      // A linked pair's box is drawn over its gold object.
      const linkedPairs = shown.rows.filter((r) => !r.nil && r.mention !== '—');
      const drawnPairs = shown.boxes.filter((b) => linkedPairs.some((r) => r.triple === b.triple));
      expect(drawnPairs.length).toBeGreaterThan(0);
      for (const box of drawnPairs) {
        const mentionText = shown.marks.find((m) => m.triple === box.triple)!.text;
        const mention = SCENE.mentions.find((m) => m.text === mentionText)!;
        const goldRegion = SCENE.pairs.find((p) => p.mention === mention.id)!.region;
        const [x, y, width, height] = SCENE.regions.find((r) => r.id === goldRegion)!.box;
        expect(iou(box, { x, y, width, height })).toBeGreaterThan(0.5);
      }
      // Hovering a mention lights up its row and its box.
      const triple = drawnPairs[0]!.triple;
      await page.hover(`#caption-view mark[data-triple="${triple}"]`);
      const active = await page.evaluate(() =>
        [...document.querySelectorAll('.active')].map(
          (element) => `${element.tagName.toLowerCase()}:${element.dataset.triple}`,
        ),
      );
      expect(active.sort()).toEqual([`g:${triple}`, `mark:${triple}`, `tr:${triple}`]);
      if (SCREENSHOT) {
        await page.mouse.move(0, 0);
        await page.screenshot({ path: path.resolve(PROJECT_ROOT, SCREENSHOT), fullPage: true });
      }
    });

    it('links a drawn box and a marked span, registers the NIL finding from its crop, and links it', async () => {
      // A flag the graph lacks, pasted into a scene (as the zero-shot integration test does).
      const nation = fixtureNation('eastgerman');
      const flag = await sharp(readFixture(nation.images[0]!.path)).resize(132, 90).toBuffer();
      const scene = await sharp(readFixture('test/fixtures/benchmark/images/q-000002.jpg'))
        .composite([{ input: flag, left: 20, top: 30 }])
        .jpeg({ quality: 90 })
        .toBuffer();
      const sceneFile = path.join(scratch, 'east-germans.jpg');
      await writeFile(sceneFile, scene);
      const caption = 'The flag of the East Germans beside a woman chemist in a canyon.';

      await page.click('#clear-given');
      await pickImage(page, sceneFile);
      await setCaption(page, caption);
      await page.evaluate(() => {
        const textarea = document.querySelector('#caption')!;
        textarea.focus();
        textarea.setSelectionRange(16, 28);
      });
      await page.click('#mark-span');
      // Draw the box with the mouse, then set its exact pixels in the box's fields.
      const overlay = (await (await page.$('#overlay'))!.boundingBox())!;
      const scale = overlay.width / 320;
      await page.mouse.move(overlay.x + 22 * scale, overlay.y + 32 * scale);
      await page.mouse.down();
      await page.mouse.move(overlay.x + 100 * scale, overlay.y + 90 * scale, { steps: 5 });
      await page.mouse.up();
      expect(await countOf(page, '#box-list li')).toBe(1);
      for (const [index, value] of [20, 30, 132, 90].entries()) {
        const field = (await page.$$('#box-list input'))[index]!;
        await field.click({ count: 3 });
        await field.type(String(value));
      }
      await page.click('#add-pair');
      expect(await valueOf(page, 'input[name="task"]:checked')).toBe('pairs');
      await link(page);
      let shown = await readShown(page);
      expect(shown.rows).toHaveLength(1);
      expect(shown.rows[0]).toMatchObject({ mention: '“East Germans”', nil: true, register: true });
      expect(shown.boxes[0]).toMatchObject({ x: 20, y: 30, width: 132, height: 90 });

      await page.click('#triples button.register');
      await page.waitForSelector('#register-dialog[open]');
      expect(await valueOf(page, '#reg-name')).toBe('East Germans');
      expect(await valueOf(page, '#reg-domain')).toBe(t.domain);
      const id = `${t.prefix}east-germans`;
      await setValue(page, '#reg-id', id);
      await page.click('#reg-submit');
      await page.waitForFunction(
        () => (document.querySelector('#relink-message')?.textContent ?? '') !== '',
        { timeout: 60_000 },
      );
      const message = await textOf(page, '#relink-message');
      expect(message).toBe('Registered East Germans: triple 1 now links to East Germans.');
      shown = await readShown(page);
      expect(shown.rows[0]).toMatchObject({ entity: 'East Germans', nil: false, register: false });

      // The graph has it, with the region's crop as its image.
      const stored = await t.graphql<{ entity: { images: { width: number; height: number }[] } }>(
        'query ($id: ID!) { entity(id: $id) { images { width height } } }',
        { id },
      );
      expect(stored.data?.entity.images).toEqual([{ width: 132, height: 90 }]);
    });

    it('opens an entity from a row, with its images, linked images and a Neo4j Browser link', async () => {
      await page.click('#triples tbody tr button.link');
      await page.waitForSelector('#entity-detail h3');
      expect(await textOf(page, '#entity-detail h3')).toBe('East Germans');
      const detail = (await textOf(page, '#entity-detail')) ?? '';
      expect(detail).toContain(
        '“The flag of the East Germans beside a woman chemist in a canyon.”',
      );
      const href = await page.evaluate(() => document.querySelector('#entity-detail a')!.href);
      expect(href.startsWith(`${t.config.web.neo4jBrowserUrl}/?cmd=edit&arg=`)).toBe(true);
      expect(decodeURIComponent(href.split('arg=')[1]!)).toContain(
        `{id: "${t.prefix}east-germans"}`,
      );
    });

    it("links the README's demo image: the flag of the Romans", async () => {
      await page.click('#tab-link');
      await page.click('#clear-given');
      await page.click('input[name="task"][value="automatic"]');
      await page.select('#domain', `${t.domain}-demo`);
      await pickImage(page, path.join(PROJECT_ROOT, 'test/fixtures/freeciv/flags/rome-large.png'));
      await setCaption(page, 'The flag of the Romans on a hill.');
      await link(page);
      const shown = await readShown(page);
      const romans = shown.marks.find((mark) => mark.text === 'Romans');
      expect(romans).toBeDefined();
      expect(shown.rows.find((row) => row.triple === romans!.triple)?.entity).toBe('Roman');
      expect(shown.boxes.length).toBeGreaterThan(0);
    });
  },
);
