-- Things: the products an organization made, known by serial number before
-- anyone owns them, and activated by a customer into one of its locations.
-- A product is UNASSIGNED (account, location and thing id empty) or ACTIVE
-- (all three set). thing_id is new at every activation, so that a customer
-- cannot follow a product through the hands of another. The connection
-- token, when the product has one, is kept as a salted SHA-256 (see
-- internal/things).
CREATE TABLE products (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    serial_number TEXT NOT NULL,
    model         TEXT NOT NULL,
    metadata      TEXT NOT NULL DEFAULT '{}',
    token_hash    BLOB,
    state         TEXT NOT NULL DEFAULT 'UNASSIGNED',
    thing_id      TEXT,
    account_id    TEXT REFERENCES accounts(id),
    location_id   TEXT REFERENCES locations(id),
    name          TEXT NOT NULL DEFAULT '',
    activated_at  TIMESTAMP,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    UNIQUE (org_id, serial_number)
);
CREATE UNIQUE INDEX products_thing ON products (thing_id) WHERE thing_id IS NOT NULL;
CREATE INDEX products_account ON products (account_id) WHERE account_id IS NOT NULL;
CREATE INDEX products_location ON products (location_id) WHERE location_id IS NOT NULL;

-- The default customer administrator type may activate things, in
-- organizations created before this permission existed too.
UPDATE user_types SET permissions = json_insert(permissions, '$[#]', 'things.activate')
    WHERE name = 'customer_admin' AND permissions NOT LIKE '%"things.activate"%';
