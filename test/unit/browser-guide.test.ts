import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseGuideMarkdown, renderBrowserGuide } from '../../src/http/browser-guide.js';
import { BROWSER_GUIDE_MARKDOWN } from '../../src/paths.js';

const URLS = {
  style: 'http://127.0.0.1:4000/browser-guide/style.grass',
  page: 'http://127.0.0.1:4000/',
};

/** The ```cypher blocks of a Markdown text, as written. */
const cypherBlocks = (markdown: string) =>
  [...markdown.matchAll(/^```cypher\n([\s\S]*?)^```$/gm)].map((match) => match[1]!.trim());

const escape = (text: string) =>
  text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');

describe('the Neo4j Browser guide', () => {
  const markdown = readFileSync(BROWSER_GUIDE_MARKDOWN, 'utf8');

  it('has every Cypher block of docs/browser-guide.md as a runnable cell, in order', () => {
    const guide = renderBrowserGuide(markdown, URLS);
    const cells = [...guide.matchAll(/<pre class="code runnable">([\s\S]*?)<\/pre>/g)].map(
      (match) => match[1],
    );
    const blocks = cypherBlocks(markdown);
    expect(blocks.length).toBeGreaterThan(5);
    expect(cells).toEqual([`:style ${URLS.style}`, ...blocks.map(escape)]);
  });

  it('makes one slide per section, after the one that applies the style', () => {
    const guide = renderBrowserGuide(markdown, URLS);
    const { sections } = parseGuideMarkdown(markdown);
    expect(guide.match(/<slide class="row-fluid">/g)).toHaveLength(sections.length + 1);
    expect(guide.match(/<\/slide>/g)).toHaveLength(sections.length + 1);
    expect(guide.startsWith('<article class="guide">')).toBe(true);
    expect(sections.map((s) => s.title)).toContain('What the graph lacks: NIL findings');
  });

  it('escapes what it copies and turns inline Markdown into HTML', () => {
    const guide = renderBrowserGuide(
      '# T\n\n## S\n\nA `<b>` and **bold** [x](https://e.org) [y](../rel.md).\n\n```cypher\nRETURN 1 < 2\n```\n',
      URLS,
    );
    expect(guide).toContain(
      '<p>A <code>&lt;b&gt;</code> and <strong>bold</strong> <a href="https://e.org" target="_blank">x</a> y.</p>',
    );
    expect(guide).toContain('<pre class="code runnable">RETURN 1 &lt; 2</pre>');
    expect(guide).not.toContain('<b>');
  });
});
