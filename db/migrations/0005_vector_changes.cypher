// In-process dense retrieval (issue 13, src/vectors/vector-sync.ts): every write that changes an
// entity's vectors, images, key fields or domain stamps it with the next value of one counter
// (the VectorClock node), and a deletion leaves a VectorTombstone with that value; each replica
// polls for stamps above the last value it has applied.
CREATE CONSTRAINT vector_clock_id IF NOT EXISTS FOR (c:VectorClock) REQUIRE c.id IS UNIQUE;
CREATE INDEX entity_vectors_version IF NOT EXISTS FOR (e:Entity) ON (e.vectorsVersion);
CREATE CONSTRAINT vector_tombstone_id IF NOT EXISTS FOR (t:VectorTombstone) REQUIRE t.id IS UNIQUE;
CREATE INDEX vector_tombstone_version IF NOT EXISTS FOR (t:VectorTombstone) ON (t.version);
