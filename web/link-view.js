// "Link an image": the form, the picture with its boxes, the caption with its mentions, the triples,
// the given spans/boxes/pairs editor and the register-from-NIL loop.
import { graphql } from './api.js';
import { $, colourOf, h, showError, withProgress } from './ui.js';

const ENTITY_FIELDS = 'id name images { url }';
const LINK_IMAGE = `mutation LinkImage($input: LinkImageInput!) {
  linkImage(input: $input) {
    task modelName
    image { sha256 url width height }
    triples {
      nil score nilThreshold
      mention { text start end source }
      region { x y width height label score source }
      entity { ${ENTITY_FIELDS} }
      alternatives { score entity { ${ENTITY_FIELDS} } }
    }
    timing { stage ms }
  }
}`;
const REGISTER_ENTITY = `mutation RegisterEntity($input: EntityInput!) {
  registerEntity(input: $input) { status entity { id name } }
}`;

const SVG = 'http://www.w3.org/2000/svg';
const svg = (tag, attributes = {}) => {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  return element;
};

const state = {
  /** { kind: 'file', file, url } or { kind: 'stored', sha256, url } */
  image: null,
  natural: { width: 0, height: 0 },
  spans: [],
  boxes: [],
  pairs: [],
  result: null,
  lastInput: null,
  registerTriple: null,
  registerCrop: null,
};

/** Image URLs the service writes are absolute (its public URL); the page loads them from its own origin. */
export function sameOriginImage(url) {
  try {
    const { pathname } = new URL(url, location.href);
    return pathname.startsWith('/images/') ? pathname : url;
  } catch {
    return url;
  }
}

const taskOf = () => document.querySelector('input[name="task"]:checked').value;
const setTask = (task) =>
  (document.querySelector(`input[name="task"][value="${task}"]`).checked = true);

// --- the image -------------------------------------------------------------------------------

function showPicture(url) {
  const picture = $('#picture');
  picture.hidden = false;
  picture.src = url;
}

function setImageFile(file) {
  if (!file) return;
  if (state.image?.kind === 'file') URL.revokeObjectURL(state.image.url);
  state.image = { kind: 'file', file, url: URL.createObjectURL(file) };
  state.result = null;
  $('#image-name').textContent = `${file.name} (${(file.size / 1024).toFixed(0)} KiB)`;
  $('#image-ref').value = '';
  showPicture(state.image.url);
}

function setImageStored(sha256) {
  state.image = { kind: 'stored', sha256, url: `/images/${sha256}` };
  state.result = null;
  $('#image-name').textContent = `stored image ${sha256.slice(0, 12)}…`;
  showPicture(state.image.url);
}

function pictureLoaded() {
  const picture = $('#picture');
  state.natural = { width: picture.naturalWidth, height: picture.naturalHeight };
  $('#overlay').setAttribute('viewBox', `0 0 ${state.natural.width} ${state.natural.height}`);
  renderAll();
}

// --- linking ----------------------------------------------------------------------------------

function buildInput() {
  if (!state.image) throw new Error('Pick, drop or name an image first.');
  const input = {
    image: state.image.kind === 'file' ? { upload: null } : { sha256: state.image.sha256 },
    caption: $('#caption').value,
    candidates: Number($('#candidate-count').value) || 100,
  };
  const domain = $('#domain').value;
  if (domain) input.domain = domain;
  const task = taskOf();
  if (task !== 'automatic') {
    input.mentions = state.spans.map(({ start, end }) => ({ start, end }));
    input.regions = state.boxes.map(({ x, y, width, height }) => ({ x, y, width, height }));
  }
  if (task === 'pairs')
    input.pairs = state.pairs.map(({ mention, region }) => ({ mention, region }));
  return input;
}

async function runLink(input, label = 'Linking') {
  const files = input.image.upload === null ? { 'input.image.upload': state.image.file } : {};
  const data = await withProgress(label, (onProgress) =>
    graphql(LINK_IMAGE, { input }, { files, onProgress }),
  );
  const result = data.linkImage;
  // Stored now: linking again names it by hash instead of uploading it again.
  state.image = {
    kind: 'stored',
    sha256: result.image.sha256,
    url: state.image?.url ?? result.image.url,
  };
  $('#image-ref').value = result.image.sha256;
  state.result = result;
  state.lastInput = { ...input, image: { sha256: result.image.sha256 } };
  renderAll();
  return result;
}

// --- drawing ------------------------------------------------------------------------------------

function renderOverlay() {
  const overlay = $('#overlay');
  overlay.replaceChildren();
  const { width, height } = state.natural;
  if (!width) return;
  const stroke = Math.max(2, Math.round(Math.max(width, height) / 250));
  state.result?.triples.forEach((triple, index) => {
    if (!triple.region) return;
    const { x, y, width: w, height: hgt } = triple.region;
    const who = triple.nil ? 'NIL' : triple.entity.name;
    const group = svg('g', {
      class: `result-box${triple.nil ? ' nil' : ''}`,
      'data-triple': index,
      tabindex: 0,
      role: 'img',
      'aria-label': `Triple ${index + 1}: ${triple.region.label ?? triple.region.source} → ${who}`,
    });
    group.style.setProperty('--colour', colourOf(index));
    group.append(
      svg('rect', { x, y, width: w, height: hgt, 'stroke-width': stroke }),
      Object.assign(svg('text', { x: x + stroke, y: y + stroke * 7, 'font-size': stroke * 6 }), {
        textContent: String(index + 1),
      }),
    );
    overlay.append(group);
  });
  state.boxes.forEach((box, index) => {
    const group = svg('g', { class: 'given-box', 'data-box': index });
    group.append(
      svg('rect', {
        x: box.x,
        y: box.y,
        width: box.width,
        height: box.height,
        'stroke-width': stroke,
      }),
      svg('rect', {
        class: 'handle',
        x: box.x + box.width - stroke * 3,
        y: box.y + box.height - stroke * 3,
        width: stroke * 6,
        height: stroke * 6,
      }),
      Object.assign(
        svg('text', { x: box.x + stroke, y: box.y + box.height - stroke, 'font-size': stroke * 6 }),
        {
          textContent: `B${index + 1}`,
        },
      ),
    );
    overlay.append(group);
  });
}

function toImagePoint(event) {
  const bounds = $('#overlay').getBoundingClientRect();
  const clamp = (value, max) => Math.min(Math.max(value, 0), max);
  return {
    x: clamp(
      ((event.clientX - bounds.left) * state.natural.width) / bounds.width,
      state.natural.width,
    ),
    y: clamp(
      ((event.clientY - bounds.top) * state.natural.height) / bounds.height,
      state.natural.height,
    ),
  };
}

/** Drag on the picture: a new box; drag a given box: move it; drag its corner: resize it. */
function startDrag(event) {
  if (!state.natural.width || event.button !== 0) return;
  const overlay = $('#overlay');
  const start = toImagePoint(event);
  const boxElement = event.target.closest('[data-box]');
  let index;
  let mode;
  let origin;
  if (boxElement) {
    index = Number(boxElement.dataset.box);
    mode = event.target.classList.contains('handle') ? 'resize' : 'move';
    origin = { ...state.boxes[index] };
  } else {
    mode = 'draw';
    index = state.boxes.length;
    state.boxes.push({ x: start.x, y: start.y, width: 0, height: 0 });
  }
  overlay.setPointerCapture(event.pointerId);
  event.preventDefault();
  const move = (moveEvent) => {
    const point = toImagePoint(moveEvent);
    const box = state.boxes[index];
    if (mode === 'draw') {
      Object.assign(box, {
        x: Math.min(start.x, point.x),
        y: Math.min(start.y, point.y),
        width: Math.abs(point.x - start.x),
        height: Math.abs(point.y - start.y),
      });
    } else if (mode === 'move') {
      box.x = Math.min(Math.max(origin.x + point.x - start.x, 0), state.natural.width - box.width);
      box.y = Math.min(
        Math.max(origin.y + point.y - start.y, 0),
        state.natural.height - box.height,
      );
    } else {
      box.width = Math.max(1, origin.width + point.x - start.x);
      box.height = Math.max(1, origin.height + point.y - start.y);
    }
    renderOverlay();
  };
  const end = () => {
    overlay.removeEventListener('pointermove', move);
    overlay.removeEventListener('pointerup', end);
    overlay.removeEventListener('pointercancel', end);
    const box = state.boxes[index];
    for (const key of ['x', 'y', 'width', 'height']) box[key] = Math.round(box[key]);
    if (mode === 'draw' && (box.width < 4 || box.height < 4)) state.boxes.splice(index, 1);
    if (mode === 'draw' && state.boxes.length > index && taskOf() === 'automatic') setTask('spans');
    renderAll();
  };
  overlay.addEventListener('pointermove', move);
  overlay.addEventListener('pointerup', end);
  overlay.addEventListener('pointercancel', end);
}

// --- the caption --------------------------------------------------------------------------------

function renderCaption() {
  const view = $('#caption-view');
  view.replaceChildren();
  const caption = state.lastInput?.caption ?? '';
  if (!state.result) return;
  const marks = state.result.triples
    .map((triple, index) => ({ triple, index }))
    .filter(({ triple }) => triple.mention)
    .sort((a, b) => a.triple.mention.start - b.triple.mention.start);
  let at = 0;
  for (const { triple, index } of marks) {
    const { start, end } = triple.mention;
    if (start < at) continue; // overlapping spans: the first one keeps its mark
    view.append(caption.slice(at, start));
    const mark = h(
      'mark',
      {
        'data-triple': index,
        tabindex: 0,
        class: triple.nil ? 'nil' : undefined,
        title: triple.nil ? 'NIL' : triple.entity.name,
      },
      caption.slice(start, end),
    );
    mark.style.setProperty('--colour', colourOf(index));
    view.append(mark);
    at = end;
  }
  view.append(caption.slice(at));
}

// --- the triples --------------------------------------------------------------------------------

function entityCell(entity, openEntity) {
  const image = entity.images[0];
  return h(
    'span',
    { class: 'entity-cell' },
    image ? h('img', { src: sameOriginImage(image.url), alt: '', class: 'thumb' }) : null,
    h(
      'button',
      { type: 'button', class: 'link', onclick: () => openEntity(entity.id) },
      entity.name,
    ),
    h('span', { class: 'muted id' }, entity.id),
  );
}

function renderResults(openEntity) {
  const section = $('#results');
  const body = $('#triples tbody');
  body.replaceChildren();
  const result = state.result;
  section.hidden = !result;
  if (!result) return;
  const total = result.timing.find((stage) => stage.stage === 'total')?.ms;
  const nil = result.triples.filter((triple) => triple.nil).length;
  $('#result-summary').textContent =
    `${result.task}, ${result.triples.length} triples (${nil} NIL), linker ${result.modelName}` +
    (total === undefined ? '' : `, ${Math.round(total)} ms in the service`);
  result.triples.forEach((triple, index) => {
    const region = triple.region;
    const row = h(
      'tr',
      { 'data-triple': index, tabindex: 0, class: triple.nil ? 'nil' : undefined },
      h(
        'th',
        { scope: 'row' },
        h('span', { class: 'swatch', 'aria-hidden': 'true' }),
        String(index + 1),
      ),
      h('td', {}, triple.mention ? `“${triple.mention.text}”` : '—'),
      h(
        'td',
        {},
        region
          ? `${region.label ?? region.source.toLowerCase()} ${Math.round(region.width)}×${Math.round(region.height)} at ${Math.round(region.x)},${Math.round(region.y)}`
          : '—',
      ),
      h(
        'td',
        {},
        triple.nil
          ? h('strong', { class: 'nil-badge' }, 'NIL')
          : entityCell(triple.entity, openEntity),
      ),
      h('td', { class: 'number' }, triple.score === null ? '—' : triple.score.toFixed(2)),
      h(
        'td',
        {},
        h(
          'ul',
          { class: 'alternatives' },
          triple.alternatives.slice(0, 3).map((alternative) =>
            h(
              'li',
              {},
              h(
                'button',
                {
                  type: 'button',
                  class: 'link',
                  onclick: () => openEntity(alternative.entity.id),
                },
                alternative.entity.name,
              ),
              ` ${alternative.score.toFixed(2)}`,
            ),
          ),
        ),
      ),
      h(
        'td',
        {},
        triple.nil
          ? h(
              'button',
              {
                type: 'button',
                class: 'register',
                'aria-label': `Register an entity for triple ${index + 1}`,
                onclick: () => openRegister(index),
              },
              'Register…',
            )
          : null,
      ),
    );
    row.style.setProperty('--colour', colourOf(index));
    body.append(row);
  });
}

/** Hover or focus on a box, a mention or a row lights up all three. */
function highlight(index) {
  for (const element of document.querySelectorAll('[data-triple]')) {
    element.classList.toggle('active', index !== null && element.dataset.triple === String(index));
  }
}

// --- given spans, boxes and pairs ---------------------------------------------------------------

function numberInput(label, value, onInput) {
  return h(
    'label',
    { class: 'number-input' },
    label,
    h('input', {
      type: 'number',
      value,
      min: 0,
      step: 1,
      oninput: (event) => onInput(Number(event.target.value)),
    }),
  );
}

function renderGiven() {
  const caption = $('#caption').value;
  $('#span-list').replaceChildren(
    ...state.spans.map((span, index) =>
      h(
        'li',
        {},
        `M${index + 1} “${caption.slice(span.start, span.end)}” [${span.start}–${span.end})`,
        h(
          'button',
          {
            type: 'button',
            'aria-label': `Remove span M${index + 1}`,
            onclick: () => removeGiven('spans', index),
          },
          '×',
        ),
      ),
    ),
  );
  $('#box-list').replaceChildren(
    ...state.boxes.map((box, index) =>
      h(
        'li',
        { class: 'box-row' },
        `B${index + 1}`,
        ...['x', 'y', 'width', 'height'].map((key) =>
          numberInput(`${key}`, box[key], (value) => {
            box[key] = value;
            renderOverlay();
          }),
        ),
        h(
          'button',
          {
            type: 'button',
            'aria-label': `Remove box B${index + 1}`,
            onclick: () => removeGiven('boxes', index),
          },
          '×',
        ),
      ),
    ),
  );
  const options = (items, prefix, selected) =>
    items.map((_, index) =>
      h('option', { value: index, selected: index === selected }, `${prefix}${index + 1}`),
    );
  $('#pair-list').replaceChildren(
    ...state.pairs.map((pair, index) =>
      h(
        'li',
        {},
        h(
          'label',
          {},
          'mention ',
          h(
            'select',
            { onchange: (event) => (pair.mention = Number(event.target.value)) },
            options(state.spans, 'M', pair.mention),
          ),
        ),
        h(
          'label',
          {},
          ' region ',
          h(
            'select',
            { onchange: (event) => (pair.region = Number(event.target.value)) },
            options(state.boxes, 'B', pair.region),
          ),
        ),
        h(
          'button',
          {
            type: 'button',
            'aria-label': `Remove pair ${index + 1}`,
            onclick: () => removeGiven('pairs', index),
          },
          '×',
        ),
      ),
    ),
  );
}

function removeGiven(kind, index) {
  state[kind].splice(index, 1);
  if (kind !== 'pairs') {
    const key = kind === 'spans' ? 'mention' : 'region';
    state.pairs = state.pairs
      .filter((pair) => pair[key] !== index)
      .map((pair) => ({ ...pair, [key]: pair[key] > index ? pair[key] - 1 : pair[key] }));
  }
  renderAll();
}

function markSpan() {
  const textarea = $('#caption');
  let { selectionStart: start, selectionEnd: end } = textarea;
  const text = textarea.value;
  while (start < end && /\s/.test(text[start])) start += 1;
  while (end > start && /\s/.test(text[end - 1])) end -= 1;
  if (start === end) {
    showError(new Error('Select the words of a mention in the caption first.'));
    return;
  }
  showError(null);
  state.spans.push({ start, end });
  if (taskOf() === 'automatic') setTask('spans');
  renderAll();
}

function takeResult() {
  if (!state.result) return;
  const spans = [];
  const boxes = [];
  const pairs = [];
  for (const triple of state.result.triples) {
    let mention = null;
    let region = null;
    if (triple.mention) {
      mention = spans.findIndex(
        (s) => s.start === triple.mention.start && s.end === triple.mention.end,
      );
      if (mention < 0)
        mention = spans.push({ start: triple.mention.start, end: triple.mention.end }) - 1;
    }
    if (triple.region) {
      const { x, y, width, height } = triple.region;
      region = boxes.findIndex(
        (b) => b.x === x && b.y === y && b.width === width && b.height === height,
      );
      if (region < 0) region = boxes.push({ x, y, width, height }) - 1;
    }
    if (mention !== null && region !== null) pairs.push({ mention, region });
  }
  Object.assign(state, { spans, boxes, pairs });
  setTask(pairs.length > 0 ? 'pairs' : 'spans');
  renderAll();
}

// --- register a NIL finding -----------------------------------------------------------------------

const slug = (text) =>
  text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');

function cropOf(region) {
  const picture = $('#picture');
  const canvas = document.createElement('canvas');
  canvas.width = Math.max(1, Math.round(region.width));
  canvas.height = Math.max(1, Math.round(region.height));
  canvas
    .getContext('2d')
    .drawImage(
      picture,
      region.x,
      region.y,
      region.width,
      region.height,
      0,
      0,
      canvas.width,
      canvas.height,
    );
  return new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
}

async function openRegister(index) {
  const triple = state.result.triples[index];
  const name = triple.mention?.text ?? triple.region?.label ?? '';
  const domain = $('#domain').value || 'general';
  state.registerTriple = { mention: triple.mention, region: triple.region };
  $('#reg-name').value = name;
  $('#reg-id').value = `${domain}:${slug(name) || `entity-${Date.now()}`}`;
  $('#reg-aliases').value = '';
  $('#reg-description').value = '';
  $('#reg-domain').value = $('#domain').value;
  const cropField = $('#reg-crop-field');
  state.registerCrop = triple.region ? await cropOf(triple.region) : null;
  cropField.hidden = !state.registerCrop;
  if (state.registerCrop) {
    const preview = $('#reg-crop');
    if (preview.src.startsWith('blob:')) URL.revokeObjectURL(preview.src);
    preview.src = URL.createObjectURL(state.registerCrop);
  }
  $('#register-dialog').showModal();
  $('#reg-name').focus();
}

function sameTriple(triple, wanted) {
  if (wanted.mention)
    return (
      triple.mention?.start === wanted.mention.start && triple.mention?.end === wanted.mention.end
    );
  return triple.region?.x === wanted.region.x && triple.region?.y === wanted.region.y;
}

async function submitRegister(event) {
  event.preventDefault();
  const useCrop = state.registerCrop && $('#reg-use-crop').checked;
  const input = {
    id: $('#reg-id').value.trim(),
    name: $('#reg-name').value.trim(),
    aliases: $('#reg-aliases')
      .value.split(',')
      .map((alias) => alias.trim())
      .filter(Boolean),
    description: $('#reg-description').value.trim(),
    images: useCrop ? [{ upload: null }] : [],
  };
  const domain = $('#reg-domain').value.trim();
  if (domain) input.domain = domain;
  const files = useCrop
    ? { 'input.images.0.upload': new File([state.registerCrop], 'crop.png', { type: 'image/png' }) }
    : {};
  try {
    const registered = await withProgress('Registering', (onProgress) =>
      graphql(REGISTER_ENTITY, { input }, { files, onProgress }),
    );
    $('#register-dialog').close();
    document.dispatchEvent(new CustomEvent('polylink:registered'));
    const entity = registered.registerEntity.entity;
    const result = await runLink(state.lastInput, 'Linking again');
    const triple = result.triples.find((candidate) => sameTriple(candidate, state.registerTriple));
    $('#relink-message').textContent = !triple
      ? `Registered ${entity.name}; the finding is not among the new triples.`
      : triple.nil
        ? `Registered ${entity.name}, but the finding is still NIL (score ${triple.score?.toFixed(2)} below ${triple.nilThreshold?.toFixed(2)}).`
        : `Registered ${entity.name}: triple ${result.triples.indexOf(triple) + 1} now links to ${triple.entity.name}.`;
  } catch {
    // withProgress showed the error; the dialog stays open to fix the input.
  }
}

// --- wiring -----------------------------------------------------------------------------------

function renderAll() {
  renderOverlay();
  renderCaption();
  renderGiven();
  renderResults(state.openEntity);
}

export function setupLinkView({ openEntity }) {
  state.openEntity = openEntity;
  $('#picture').addEventListener('load', pictureLoaded);
  $('#image-file').addEventListener('change', (event) => setImageFile(event.target.files[0]));
  const dropZone = $('#drop-zone');
  dropZone.addEventListener('dragover', (event) => {
    event.preventDefault();
    dropZone.classList.add('dragging');
  });
  dropZone.addEventListener('dragleave', () => dropZone.classList.remove('dragging'));
  dropZone.addEventListener('drop', (event) => {
    event.preventDefault();
    dropZone.classList.remove('dragging');
    setImageFile(event.dataTransfer.files[0]);
  });
  dropZone.addEventListener('keydown', (event) => {
    if (event.target === dropZone && (event.key === 'Enter' || event.key === ' ')) {
      event.preventDefault();
      $('#image-file').click();
    }
  });
  $('#image-ref').addEventListener('change', (event) => {
    const sha256 = /[0-9a-f]{64}/i.exec(event.target.value)?.[0];
    if (sha256) setImageStored(sha256.toLowerCase());
    else if (event.target.value.trim())
      showError(new Error('That is not a sha256 or an /images/<sha256> URL.'));
  });
  $('#link-form').addEventListener('submit', (event) => {
    event.preventDefault();
    $('#relink-message').textContent = '';
    try {
      runLink(buildInput()).catch(() => {});
    } catch (error) {
      showError(error);
    }
  });
  $('#overlay').addEventListener('pointerdown', startDrag);
  $('#mark-span').addEventListener('click', markSpan);
  $('#add-box').addEventListener('click', () => {
    const { width, height } = state.natural;
    state.boxes.push({
      x: 0,
      y: 0,
      width: Math.round(width / 4) || 10,
      height: Math.round(height / 4) || 10,
    });
    if (taskOf() === 'automatic') setTask('spans');
    renderAll();
  });
  $('#add-pair').addEventListener('click', () => {
    state.pairs.push({ mention: 0, region: 0 });
    setTask('pairs');
    renderAll();
  });
  $('#use-result').addEventListener('click', takeResult);
  $('#clear-given').addEventListener('click', () => {
    Object.assign(state, { spans: [], boxes: [], pairs: [] });
    renderAll();
  });
  $('#caption').addEventListener('input', renderGiven);
  $('#register-form').addEventListener('submit', submitRegister);
  $('#reg-cancel').addEventListener('click', () => $('#register-dialog').close());
  const onEnter = (event) => {
    const target = event.target.closest?.('[data-triple]');
    highlight(target ? target.dataset.triple : null);
  };
  document.addEventListener('pointerover', onEnter);
  document.addEventListener('focusin', onEnter);
}
