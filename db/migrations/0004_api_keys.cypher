// API keys (issue 11): only a sha256 of each key's secret is stored, never the key itself.
// A key is looked up by its public id (the part of the key before the secret).
CREATE CONSTRAINT api_key_id IF NOT EXISTS
FOR (k:ApiKey) REQUIRE k.id IS UNIQUE;
