// linkImage results (issue 6): one LinkedImage per query image and linker version, so that
// re-linking the same image with the same linker replaces its links (MERGE on both keys) and
// another linker version gets its own node.
CREATE CONSTRAINT linked_image_key IF NOT EXISTS
FOR (l:LinkedImage) REQUIRE (l.sha256, l.model) IS UNIQUE;
// `linkedImage(sha256)` without a model: every version of one image.
CREATE INDEX linked_image_sha256 IF NOT EXISTS FOR (l:LinkedImage) ON (l.sha256);
// NIL findings waiting for an entity to be registered, by kind (MENTION, REGION, PAIR).
CREATE INDEX finding_kind IF NOT EXISTS FOR (f:Finding) ON (f.kind);
