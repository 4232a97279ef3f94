// Shared page chrome: the error banner, the progress line, element helpers.
import { ApiError } from './api.js';

export const $ = (selector) => document.querySelector(selector);

/** An element with attributes and children; strings become text (never HTML). */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else if (name === 'dataset') Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(typeof child === 'string' || typeof child === 'number' ? String(child) : child);
  }
  return element;
}

export function showError(error) {
  const banner = $('#error');
  if (!error) {
    banner.hidden = true;
    banner.textContent = '';
    return;
  }
  banner.textContent =
    error instanceof ApiError ? error.describe() : `Error: ${error.message ?? String(error)}`;
  banner.hidden = false;
}

/**
 * Progress of one request: the upload's bytes while they go out, then the seconds the service has
 * been working (it streams nothing back until the answer).
 */
export function startProgress(label) {
  const box = $('#progress');
  const bar = $('#progress-bar');
  const text = $('#progress-text');
  const started = performance.now();
  let phase = 'wait';
  let uploaded = '';
  const render = () => {
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    text.textContent =
      phase === 'upload' ? `${label}: uploading ${uploaded}` : `${label}: working… ${seconds} s`;
  };
  // Quick answers show no flicker: the line appears only past 300 ms.
  const reveal = setTimeout(() => (box.hidden = false), 300);
  const tick = setInterval(render, 100);
  render();
  return {
    update({ phase: next, loaded, total }) {
      phase = next;
      if (next === 'upload' && total > 0) {
        bar.value = loaded / total;
        uploaded = `${Math.round((100 * loaded) / total)}% of ${(total / 1024).toFixed(0)} KiB`;
      } else {
        bar.removeAttribute('value'); // indeterminate
        uploaded = '';
      }
      render();
    },
    done() {
      clearTimeout(reveal);
      clearInterval(tick);
      box.hidden = true;
    },
  };
}

/** Runs a request with the progress line and the error banner. */
export async function withProgress(label, run) {
  showError(null);
  const progress = startProgress(label);
  try {
    return await run((event) => progress.update(event));
  } catch (error) {
    showError(error);
    throw error;
  } finally {
    progress.done();
  }
}

/** Twelve colours far enough apart on white and on photos; triple i gets colour i mod 12. */
const PALETTE = [
  '#e6194b',
  '#3cb44b',
  '#4363d8',
  '#f58231',
  '#911eb4',
  '#42d4f4',
  '#f032e6',
  '#9a6324',
  '#469990',
  '#808000',
  '#000075',
  '#bfef45',
];
export const colourOf = (index) => PALETTE[index % PALETTE.length];
