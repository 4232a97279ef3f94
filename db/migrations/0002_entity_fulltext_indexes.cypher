// BM25 candidate generation over everything a person wrote about an entity.
// 'standard-folding' folds diacritics so "Zurich" finds "Zürich".
CREATE FULLTEXT INDEX entity_text IF NOT EXISTS
FOR (e:Entity) ON EACH [e.name, e.aliasText, e.description]
OPTIONS {indexConfig: {`fulltext.analyzer`: 'standard-folding'}};
// The pool for the rule generators: names, aliases and their initialisms only, so that
// an acronym such as "NASA" reaches "National Aeronautics and Space Administration".
CREATE FULLTEXT INDEX entity_names IF NOT EXISTS
FOR (e:Entity) ON EACH [e.name, e.aliasText, e.initialismText]
OPTIONS {indexConfig: {`fulltext.analyzer`: 'standard-folding'}};
