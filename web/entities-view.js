// "Entities": search (the candidates query), pages of entities by domain, one entity in detail.
import { graphql } from './api.js';
import { sameOriginImage } from './link-view.js';
import { $, h, withProgress } from './ui.js';

const SEARCH = `query Search($mention: String!, $domain: String) {
  candidates(mention: $mention, limit: 10, domain: $domain) { score entity { id name domain images { url } } }
}`;
const PAGE = `query Page($after: String, $domain: String) {
  entities(first: 20, after: $after, domain: $domain) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id name domain images { url } } }
  }
}`;
const ENTITY = `query Entity($id: ID!) {
  entity(id: $id) {
    id name aliases description domain tags
    images { sha256 url width height }
    linkedImages(first: 10) {
      score
      linkedImage { sha256 caption task linkedAt image { url } }
      links { kind mention { text } region { label source } }
    }
  }
}`;

const browse = { cursors: [null], page: 0 };
let config = { neo4jBrowserUrl: null, browserGuideUrl: null };

function entityItem(entity, extra) {
  const image = entity.images[0];
  return h(
    'li',
    {},
    h(
      'button',
      { type: 'button', class: 'entity-button', onclick: () => showEntity(entity.id) },
      image ? h('img', { src: sameOriginImage(image.url), alt: '', class: 'thumb' }) : null,
      h('span', {}, entity.name),
      h('span', { class: 'muted id' }, ` ${entity.id}`),
      extra ? h('span', { class: 'muted' }, ` ${extra}`) : null,
    ),
  );
}

/** Opens Neo4j Browser with the entity's neighbourhood in the editor (`?cmd=edit&arg=`). */
function browserLink(id) {
  if (!config.neo4jBrowserUrl) return null;
  const cypher = `MATCH (e:Entity {id: ${JSON.stringify(id)}})\nOPTIONAL MATCH (e)-[r]-(n)\nRETURN e, r, n`;
  return `${config.neo4jBrowserUrl}/?cmd=edit&arg=${encodeURIComponent(cypher)}`;
}

export async function showEntity(id) {
  const data = await withProgress('Loading the entity', () => graphql(ENTITY, { id }));
  const detail = $('#entity-detail');
  const entity = data.entity;
  if (!entity) {
    detail.replaceChildren(h('p', {}, `No entity ${id}.`));
    return;
  }
  const link = browserLink(entity.id);
  detail.replaceChildren(
    h('h3', { tabindex: -1, id: 'entity-name' }, entity.name),
    h('p', { class: 'muted' }, `${entity.id} · ${entity.domain}`),
    entity.aliases.length ? h('p', {}, `Also: ${entity.aliases.join(', ')}`) : null,
    h('p', {}, entity.description),
    entity.tags.length ? h('p', { class: 'muted' }, `Tags: ${entity.tags.join(', ')}`) : null,
    link
      ? h(
          'p',
          {},
          h('a', { href: link, target: '_blank', rel: 'noopener' }, 'Open in Neo4j Browser'),
        )
      : null,
    h('h4', {}, 'Images'),
    h(
      'div',
      { class: 'gallery' },
      entity.images.map((image) =>
        h('img', {
          src: sameOriginImage(image.url),
          alt: `${entity.name}, ${image.width}×${image.height}`,
        }),
      ),
    ),
    h('h4', {}, 'Linked images'),
    entity.linkedImages.length === 0
      ? h('p', { class: 'muted' }, 'No linked image links to it yet.')
      : h(
          'ul',
          { class: 'linked-images' },
          entity.linkedImages.map((ref) =>
            h(
              'li',
              {},
              ref.linkedImage.image
                ? h('img', {
                    src: sameOriginImage(ref.linkedImage.image.url),
                    alt: '',
                    class: 'thumb',
                  })
                : null,
              h('span', {}, `“${ref.linkedImage.caption}” `),
              h(
                'span',
                { class: 'muted' },
                `${ref.links.map((l) => (l.kind === 'MENTION' ? `mention “${l.mention?.text}”` : `region ${l.region?.label ?? l.region?.source.toLowerCase()}`)).join(', ')}; score ${ref.score.toFixed(2)}`,
              ),
            ),
          ),
        ),
  );
  document.dispatchEvent(new CustomEvent('polylink:show-entities'));
  $('#entity-name').focus();
}

async function loadPage() {
  const domain = $('#browse-domain').value || null;
  const data = await withProgress('Loading entities', () =>
    graphql(PAGE, { after: browse.cursors[browse.page], domain }),
  );
  const { edges, pageInfo, totalCount } = data.entities;
  $('#browse-list').replaceChildren(...edges.map((edge) => entityItem(edge.node)));
  const first = browse.page * 20 + 1;
  $('#browse-count').textContent =
    totalCount === 0 ? 'No entities.' : `${first}–${first + edges.length - 1} of ${totalCount}`;
  browse.cursors[browse.page + 1] = pageInfo.endCursor;
  $('#browse-prev').disabled = browse.page === 0;
  $('#browse-next').disabled = !pageInfo.hasNextPage;
}

export function setupEntitiesView(pageConfig) {
  config = pageConfig;
  if (config.browserGuideUrl) {
    // Into the editor rather than run at once: Browser learns its guide allowlist only once connected.
    const play = config.neo4jBrowserUrl
      ? `${config.neo4jBrowserUrl}/?cmd=edit&arg=${encodeURIComponent(`:play ${config.browserGuideUrl}`)}`
      : null;
    $('#guide-hint').replaceChildren(
      'In Neo4j Browser, ',
      play
        ? h(
            'a',
            { href: play, target: '_blank', rel: 'noopener' },
            `:play ${config.browserGuideUrl}`,
          )
        : `:play ${config.browserGuideUrl}`,
      ' (run it once connected) opens the guide to linked images.',
    );
  }
  $('#search-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const mention = $('#search-text').value.trim();
    if (!mention) return;
    const data = await withProgress('Searching', () =>
      graphql(SEARCH, { mention, domain: $('#browse-domain').value || null }),
    ).catch(() => null);
    if (!data) return;
    $('#search-results').replaceChildren(
      ...(data.candidates.length
        ? data.candidates.map((c) => entityItem(c.entity, c.score.toFixed(2)))
        : [h('li', { class: 'muted' }, 'No candidates.')]),
    );
  });
  $('#browse-domain').addEventListener('change', () => {
    browse.cursors = [null];
    browse.page = 0;
    loadPage().catch(() => {});
  });
  $('#browse-next').addEventListener('click', () => {
    browse.page += 1;
    loadPage().catch(() => {});
  });
  $('#browse-prev').addEventListener('click', () => {
    browse.page = Math.max(0, browse.page - 1);
    loadPage().catch(() => {});
  });
  return { loadPage };
}
