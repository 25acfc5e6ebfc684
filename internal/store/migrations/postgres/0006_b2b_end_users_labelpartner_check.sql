-- End users' labelpartner: the foreign key checked every inserted row on its
-- own (one lookup and one row lock each), which cost half of a bulk import's
-- COPY. The same rules now run once per statement:
--   * inserted end users must name existing labelpartners, which are locked
--     (FOR KEY SHARE, as the foreign key did) until the transaction ends;
--   * a changed labelpartner_id must name an existing labelpartner;
--   * deleting labelpartners deletes their end users (as ON DELETE CASCADE).
-- SQLite keeps its foreign key: its per-row check is cheap.
ALTER TABLE b2b_end_users DROP CONSTRAINT b2b_end_users_labelpartner_id_fkey;

CREATE FUNCTION b2b_end_users_labelpartner_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM b2b_labelpartners l
        WHERE l.id IN (SELECT DISTINCT n.labelpartner_id FROM new_rows n) FOR KEY SHARE OF l;
    IF EXISTS (SELECT 1 FROM new_rows n
               WHERE NOT EXISTS (SELECT 1 FROM b2b_labelpartners l WHERE l.id = n.labelpartner_id)) THEN
        RAISE EXCEPTION 'insert or update on table "b2b_end_users" violates the labelpartner reference'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER b2b_end_users_labelpartner_insert AFTER INSERT ON b2b_end_users
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION b2b_end_users_labelpartner_check();

CREATE FUNCTION b2b_end_users_labelpartner_check_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM b2b_labelpartners l WHERE l.id = NEW.labelpartner_id FOR KEY SHARE OF l;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'insert or update on table "b2b_end_users" violates the labelpartner reference'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER b2b_end_users_labelpartner_update AFTER UPDATE OF labelpartner_id ON b2b_end_users
    FOR EACH ROW WHEN (OLD.labelpartner_id IS DISTINCT FROM NEW.labelpartner_id)
    EXECUTE FUNCTION b2b_end_users_labelpartner_check_row();

CREATE FUNCTION b2b_labelpartners_cascade() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM b2b_end_users e USING old_rows o WHERE e.labelpartner_id = o.id;
    RETURN NULL;
END $$;

CREATE TRIGGER b2b_labelpartners_delete AFTER DELETE ON b2b_labelpartners
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION b2b_labelpartners_cascade();
