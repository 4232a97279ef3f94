/**
 * Playing cards (Debian `kdegames-card-data-kf5`) for the cross-depiction evaluation: the same 52
 * cards drawn in several decks. Each deck is one SVG sheet whose card elements are named
 * `<rank>_<suit>` (KDE card themes; `1` is the ace). A card is cut out by rendering its element
 * alone (`rsvg-convert --export-id`, from Debian `librsvg2-bin`, unpacked like every other
 * package) and cropping the page to the element's ink bounding box. The names and geometry are
 * pure and unit-tested; `renderCard` does the process and file work.
 */
import { execFileSync } from 'node:child_process';

export const CARDS_PACKAGE = 'kdegames-card-data-kf5';
export const CARDS_DIR = 'usr/share/carddecks';
export const RSVG_PACKAGE = 'librsvg2-bin';
export const RSVG_BIN = 'usr/bin/rsvg-convert';

export const SUITS = ['club', 'diamond', 'heart', 'spade'] as const;
export type Suit = (typeof SUITS)[number];
export const RANKS = [
  '1',
  '2',
  '3',
  '4',
  '5',
  '6',
  '7',
  '8',
  '9',
  '10',
  'jack',
  'queen',
  'king',
] as const;
export type Rank = (typeof RANKS)[number];

export interface Card {
  readonly rank: Rank;
  readonly suit: Suit;
}

const RANK_WORDS: Record<Rank, string> = {
  '1': 'ace',
  '2': 'two',
  '3': 'three',
  '4': 'four',
  '5': 'five',
  '6': 'six',
  '7': 'seven',
  '8': 'eight',
  '9': 'nine',
  '10': 'ten',
  jack: 'jack',
  queen: 'queen',
  king: 'king',
};

const RANK_ALIASES: Record<string, Rank> = { ace: '1', a: '1', j: 'jack', q: 'queen', k: 'king' };

function rankOf(word: string): Rank | null {
  const w = word.toLowerCase();
  if ((RANKS as readonly string[]).includes(w)) return w as Rank;
  const byWord = Object.entries(RANK_WORDS).find(([, v]) => v === w)?.[0];
  return (byWord as Rank | undefined) ?? RANK_ALIASES[w] ?? null;
}

function suitOf(word: string): Suit | null {
  const w = word.toLowerCase().replace(/s$/, '');
  return (SUITS as readonly string[]).includes(w) ? (w as Suit) : null;
}

/**
 * The card an SVG element id names: KDE's `king_heart` and `1_club`, Aisleriot's `heart_king`, and
 * `king-of-hearts`; null for anything else (backs, jokers, gradients, `kinghearts`).
 */
export function parseCardId(id: string): Card | null {
  const parts = id
    .toLowerCase()
    .split(/[_-]/)
    .filter((p) => p !== 'of');
  if (parts.length !== 2) return null;
  const [a = '', b = ''] = parts;
  const rank = rankOf(a) ?? rankOf(b);
  const suit = suitOf(b) ?? suitOf(a);
  if (rank === null || suit === null) return null;
  // Exactly one rank and one suit: `heart_heart` or `1_2` are not cards.
  if ((rankOf(a) !== null) === (rankOf(b) !== null)) return null;
  return { rank, suit };
}

/** The KDE element id of a card (`king_heart`), the join key across decks. */
export function cardKey(card: Card): string {
  return `${card.rank}_${card.suit}`;
}

export function allCards(): Card[] {
  return SUITS.flatMap((suit) => RANKS.map((rank) => ({ rank, suit })));
}

const title = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

/** "King of Hearts", "Ace of Spades". */
export function cardName(card: Card): string {
  return `${title(RANK_WORDS[card.rank])} of ${title(card.suit)}s`;
}

export function cardColour(card: Card): 'red' | 'black' {
  return card.suit === 'heart' || card.suit === 'diamond' ? 'red' : 'black';
}

/** The templated description: rank, suit, colour, and what kind of card it is. */
export function cardDescription(card: Card): string {
  const rank = RANK_WORDS[card.rank];
  const kind =
    card.rank === '1'
      ? 'the ace, the single pip of its suit'
      : ['jack', 'queen', 'king'].includes(card.rank)
        ? `a face card showing a ${rank}`
        : `a number card with ${rank} pips`;
  return `A playing card of the standard 52-card French deck: the ${rank} of ${card.suit}s, ${kind}; ${card.suit}s are a ${cardColour(card)} suit.`;
}

/** Short names: "K♥", "king of hearts". */
export function cardAliases(card: Card): string[] {
  const symbol = { club: '♣', diamond: '♦', heart: '♥', spade: '♠' }[card.suit];
  const short = { '1': 'A', jack: 'J', queen: 'Q', king: 'K' }[card.rank as string] ?? card.rank;
  return [`${short}${symbol}`, `${RANK_WORDS[card.rank]} of ${card.suit}s`];
}

// ---------------------------------------------------------------------------------------------
// Geometry

export type Box = [number, number, number, number];

/**
 * The zoom at which an element whose ink box is `boxHeight` pixels tall at `probeZoom` comes out
 * `targetHeight` pixels tall (rendering is linear in the zoom).
 */
export function zoomFor(probeZoom: number, boxHeight: number, targetHeight: number): number {
  if (!(boxHeight > 0) || !(probeZoom > 0)) throw new Error('zoomFor: empty element');
  return (probeZoom * targetHeight) / boxHeight;
}

/** Cards are taller than wide (about 2.5 × 3.5 in); anything else is a failed cut-out. */
export const CARD_ASPECT: readonly [number, number] = [0.55, 0.82];

/** Why a crop box is not a card, or null when it looks like one. */
export function cardBoxProblem(box: Box | undefined, minHeight: number): string | null {
  if (!box) return 'the element renders nothing';
  const [, , w, h] = box;
  if (h < minHeight) return `only ${h} px tall`;
  const aspect = w / h;
  if (aspect < (CARD_ASPECT[0] ?? 0) || aspect > (CARD_ASPECT[1] ?? 1))
    return `aspect ${aspect.toFixed(2)} is not a card's`;
  return null;
}

// ---------------------------------------------------------------------------------------------
// Rendering

/** One element of an SVG sheet rendered alone on its page, as PNG bytes. */
export function renderElement(rsvg: string, sheet: string, id: string, zoom: number): Buffer {
  return execFileSync(rsvg, ['--export-id', id, '--zoom', zoom.toFixed(4), sheet], {
    maxBuffer: 512 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}
