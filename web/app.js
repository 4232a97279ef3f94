// The page's entry: the API key, the two views, the domain lists.
import { graphql, storedKey, storeKey } from './api.js';
import { setupEntitiesView, showEntity } from './entities-view.js';
import { setupLinkView } from './link-view.js';
import { $, h, showError } from './ui.js';

const DOMAINS = 'query Domains { domains { domain entityCount } }';

function showView(name) {
  const linking = name === 'link';
  $('#link-view').hidden = !linking;
  $('#entities-view').hidden = linking;
  $('#tab-link').setAttribute('aria-pressed', String(linking));
  $('#tab-entities').setAttribute('aria-pressed', String(!linking));
}

/**
 * scripts/start.sh prints the page's address with the demo's key in the fragment (`#key=…`): the
 * fragment never leaves the browser; the key moves to sessionStorage and out of the address bar.
 */
function takeKeyFromFragment() {
  const match = /^#key=([^&]+)/.exec(location.hash);
  if (!match) return;
  storeKey(decodeURIComponent(match[1]));
  history.replaceState(null, '', location.pathname + location.search);
}

async function loadDomains() {
  const data = await graphql(DOMAINS);
  for (const select of [$('#domain'), $('#browse-domain')]) {
    const current = select.value;
    const first = select.options[0];
    select.replaceChildren(
      first,
      ...data.domains.map(({ domain, entityCount }) =>
        h('option', { value: domain, selected: domain === current }, `${domain} (${entityCount})`),
      ),
    );
  }
}

async function refresh(entities) {
  const state = $('#key-state');
  try {
    await loadDomains();
    state.textContent = storedKey() ? 'key accepted' : 'no key needed';
    showError(null);
    await entities.loadPage();
  } catch (error) {
    state.textContent = storedKey() ? 'key refused' : 'key needed';
    showError(error);
  }
}

async function main() {
  takeKeyFromFragment();
  $('#api-key').value = storedKey();
  const pageConfig = await fetch('/page-config.json')
    .then((response) => response.json())
    .catch(() => ({}));
  const entities = setupEntitiesView(pageConfig);
  setupLinkView({ openEntity: (id) => showEntity(id).catch(() => {}) });
  $('#tab-link').addEventListener('click', () => showView('link'));
  $('#tab-entities').addEventListener('click', () => showView('entities'));
  document.addEventListener('polylink:show-entities', () => showView('entities'));
  $('#key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    storeKey($('#api-key').value.trim());
    refresh(entities);
  });
  document.addEventListener('polylink:registered', () => loadDomains().catch(() => {}));
  await refresh(entities);
  document.body.dataset.ready = 'true';
}

main();
