-- Things: the products an organization made, known by serial number before
-- anyone owns them, and activated by a customer into one of its locations.
-- A product is UNASSIGNED (account, location and thing id empty) or ACTIVE
-- (all three set). thing_id is new at every activation, so that a customer
-- cannot follow a product through the hands of another. The connection
-- token, when the product has one, is kept as a salted SHA-256 (see
-- internal/things).
CREATE TABLE products (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL, -- checked by statement-level triggers, see below
    serial_number TEXT NOT NULL,
    model         TEXT NOT NULL,
    metadata      TEXT NOT NULL DEFAULT '{}',
    token_hash    BYTEA,
    state         TEXT NOT NULL DEFAULT 'UNASSIGNED',
    thing_id      TEXT,
    account_id    TEXT REFERENCES accounts(id),
    location_id   TEXT REFERENCES locations(id),
    name          TEXT NOT NULL DEFAULT '',
    activated_at  TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    UNIQUE (org_id, serial_number)
);
CREATE UNIQUE INDEX products_thing ON products (thing_id) WHERE thing_id IS NOT NULL;
CREATE INDEX products_account ON products (account_id) WHERE account_id IS NOT NULL;
CREATE INDEX products_location ON products (location_id) WHERE location_id IS NOT NULL;

-- The organization of products: a foreign key would check every row of a
-- bulk import on its own (one lookup and one row lock each; see
-- 0006_b2b_end_users_labelpartner_check.sql for the measurement). The same
-- rules run once per statement instead:
--   * inserted products must name existing organizations, which are locked
--     (FOR KEY SHARE, as the foreign key did) until the transaction ends;
--   * a changed org_id must name an existing organization;
--   * deleting an organization deletes its products first (as ON DELETE
--     CASCADE, before the cascades to its accounts and locations).
-- SQLite keeps its foreign key: its per-row check is cheap.
CREATE FUNCTION products_org_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM organizations o
        WHERE o.id IN (SELECT DISTINCT n.org_id FROM new_rows n) FOR KEY SHARE OF o;
    IF EXISTS (SELECT 1 FROM new_rows n WHERE NOT EXISTS (SELECT 1 FROM organizations o WHERE o.id = n.org_id)) THEN
        RAISE EXCEPTION 'insert or update on table "products" violates the organization reference'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER products_org_insert AFTER INSERT ON products
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION products_org_check();

CREATE FUNCTION products_org_check_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM organizations o WHERE o.id = NEW.org_id FOR KEY SHARE OF o;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'insert or update on table "products" violates the organization reference'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER products_org_update AFTER UPDATE OF org_id ON products
    FOR EACH ROW WHEN (OLD.org_id IS DISTINCT FROM NEW.org_id) EXECUTE FUNCTION products_org_check_row();

CREATE FUNCTION organizations_delete_products() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM products WHERE org_id = OLD.id;
    RETURN OLD;
END $$;

CREATE TRIGGER organizations_delete_products BEFORE DELETE ON organizations
    FOR EACH ROW EXECUTE FUNCTION organizations_delete_products();

-- The default customer administrator type may activate things, in
-- organizations created before this permission existed too.
UPDATE user_types SET permissions = (permissions::jsonb || '["things.activate"]'::jsonb)::text
    WHERE name = 'customer_admin' AND permissions NOT LIKE '%"things.activate"%';
