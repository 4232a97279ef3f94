// Entities are addressed by their user-given id; images by the sha256 of their bytes.
CREATE CONSTRAINT entity_id_unique IF NOT EXISTS FOR (e:Entity) REQUIRE e.id IS UNIQUE;
CREATE CONSTRAINT image_sha256_unique IF NOT EXISTS FOR (i:Image) REQUIRE i.sha256 IS UNIQUE;
// The domain filter of `entities` and `candidates`.
CREATE INDEX entity_domain IF NOT EXISTS FOR (e:Entity) ON (e.domain);
