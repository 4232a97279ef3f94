import type { StoredFinding, StoredLink } from '../neo4j/link-repository.js';
import type { LinkTriple } from './link-result.js';

/**
 * Each triple as the graph keeps it: a linked triple's mention becomes a MENTIONS link and its
 * region a DEPICTS link to the entity; a NIL triple becomes one Finding (MENTION, REGION or PAIR).
 */
export function graphSidesOf(triples: readonly LinkTriple[]): {
  links: StoredLink[];
  findings: StoredFinding[];
} {
  const links: StoredLink[] = [];
  const findings: StoredFinding[] = [];
  triples.forEach((triple, index) => {
    const mention = triple.mention
      ? {
          start: triple.mention.start,
          end: triple.mention.end,
          text: triple.mention.text,
          source: triple.mention.source,
        }
      : null;
    const region = triple.region
      ? {
          ...triple.region.box,
          label: triple.region.label,
          source: triple.region.source,
          score: triple.region.score,
        }
      : null;
    if (triple.entityId === null) {
      const kind = mention && region ? 'PAIR' : mention ? 'MENTION' : 'REGION';
      findings.push({ triple: index, kind, score: triple.score, mention, region });
      return;
    }
    const side = { triple: index, entityId: triple.entityId, score: triple.score ?? 0 };
    if (mention) links.push({ ...side, kind: 'MENTION', mention, region: null });
    if (region) links.push({ ...side, kind: 'REGION', mention: null, region });
  });
  return { links, findings };
}
