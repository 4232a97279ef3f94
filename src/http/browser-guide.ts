/**
 * The Neo4j Browser guide (`:play <service>/browser-guide`), made from docs/browser-guide.md so the
 * guide and the document never disagree: each `##` section is a slide, each ```cypher block a
 * runnable cell. Neo4j Browser splits a guide at its `<slide>` elements and makes `pre.runnable`
 * clickable into the editor; it strips scripts and event attributes.
 *
 * Written by hand rather than with a Markdown library: the document uses headings, paragraphs,
 * inline code, links and fenced blocks only, and the guide needs those blocks mapped to Browser's
 * own elements, which a general renderer would not produce.
 */

interface GuideSection {
  readonly title: string;
  readonly blocks: readonly string[];
}

const escapeHtml = (text: string): string =>
  text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');

/** Inline Markdown of the document: `code`, **bold** and [text](target) (text only for relative targets). */
function renderInline(text: string): string {
  return escapeHtml(text)
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
    .replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (_match, label: string, target: string) =>
      /^https?:\/\//.test(target) ? `<a href="${target}" target="_blank">${label}</a>` : label,
    );
}

function runnable(code: string): string {
  return `<pre class="code runnable">${escapeHtml(code.trim())}</pre>`;
}

/** Splits the Markdown into a title, an introduction and `##` sections of HTML blocks. */
export function parseGuideMarkdown(markdown: string): {
  title: string;
  intro: string[];
  sections: GuideSection[];
} {
  let title = 'Polylink';
  const intro: string[] = [];
  const sections: { title: string; blocks: string[] }[] = [];
  const blocksNow = () => sections.at(-1)?.blocks ?? intro;
  const lines = markdown.split('\n');
  let paragraph: string[] = [];
  const flush = () => {
    if (paragraph.length > 0) blocksNow().push(`<p>${renderInline(paragraph.join(' '))}</p>`);
    paragraph = [];
  };
  for (let index = 0; index < lines.length; index += 1) {
    const line = lines[index]!;
    const fence = /^```(\w*)\s*$/.exec(line);
    if (fence) {
      flush();
      const code: string[] = [];
      for (index += 1; index < lines.length && !/^```\s*$/.test(lines[index]!); index += 1) {
        code.push(lines[index]!);
      }
      const text = code.join('\n');
      blocksNow().push(fence[1] === 'cypher' ? runnable(text) : `<pre>${escapeHtml(text)}</pre>`);
    } else if (line.startsWith('# ')) {
      flush();
      title = line.slice(2).trim();
    } else if (line.startsWith('## ')) {
      flush();
      sections.push({ title: line.slice(3).trim(), blocks: [] });
    } else if (line.trim() === '') {
      flush();
    } else {
      paragraph.push(line.trim());
    }
  }
  flush();
  return { title, intro, sections };
}

function slide(title: string, blocks: readonly string[]): string {
  return [
    '<slide class="row-fluid">',
    `<div class="col-sm-3"><h3>${escapeHtml(title)}</h3></div>`,
    `<div class="col-sm-9">${blocks.join('\n')}</div>`,
    '</slide>',
  ].join('\n');
}

/** The whole guide: a first slide that applies the Browser style, then the document's sections. */
export function renderBrowserGuide(
  markdown: string,
  urls: { readonly style: string; readonly page: string },
): string {
  const { title, intro, sections } = parseGuideMarkdown(markdown);
  const first = slide(title, [
    '<p>Run this cell first: it applies the Polylink style (entities captioned by name, images by',
    'URL, one colour per label).</p>',
    runnable(`:style ${urls.style}`),
    ...intro,
    `<p>Link images and register what is missing on the page: <a href="${escapeHtml(urls.page)}" target="_blank">${escapeHtml(urls.page)}</a>.</p>`,
  ]);
  return [
    '<article class="guide">',
    '<carousel class="deck container-fluid">',
    first,
    ...sections.map((section) => slide(section.title, section.blocks)),
    '</carousel>',
    '</article>',
    '',
  ].join('\n');
}
