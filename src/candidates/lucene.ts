// Lucene's query syntax gives meaning to these characters; user text must not.
const LUCENE_SPECIAL = /[+\-!(){}[\]^"~*?:\\/&|]/g;
const LUCENE_OPERATORS = new Set(['AND', 'OR', 'NOT', 'TO']);

/** Escapes one term so Lucene reads it literally. */
export function escapeLuceneTerm(term: string): string {
  const escaped = term.replace(LUCENE_SPECIAL, (character) => `\\${character}`);
  // Upper-case operator words are syntax, lower-case ones are ordinary terms.
  return LUCENE_OPERATORS.has(escaped) ? escaped.toLowerCase() : escaped;
}

/** A query matching any of the terms (Lucene's default OR), or null when nothing is left to search. */
export function anyTermQuery(terms: readonly string[]): string | null {
  const unique = [...new Set(terms.filter((term) => term.trim() !== ''))];
  return unique.length === 0 ? null : unique.map(escapeLuceneTerm).join(' ');
}
