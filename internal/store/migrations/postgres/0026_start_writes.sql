-- Fewer writes per signup start (one start writes a job, a signup, a funnel
-- subject and an outbox row, and later marks the mail sent).
--
-- jobs_email: read only by the purge of a deleted account (DELETE FROM jobs
-- WHERE email_lower = … AND org_id IN …), a rare statement on a table that
-- holds nothing but jobs in flight (deleted within milliseconds) and failed
-- ones (kept until the janitor removes them); it scans the table instead.
-- Every job wrote an entry into it.
DROP INDEX jobs_email;

-- outbox.message_id is "<id@host>", built from the primary key, so it is
-- unique already, and no query looks a row up by it. Its unique index took
-- an entry per queued mail and another when the mail was marked sent (that
-- update changes state, which the partial index outbox_due reads, so it is
-- never HOT and writes a new entry into every index of the table).
ALTER TABLE outbox DROP CONSTRAINT outbox_message_id_key;

-- The organization of signups and funnel subjects: a foreign key checks each
-- inserted row on its own (a lookup and a lock of the organization's row
-- each; the job worker inserts up to 64 of each per statement). The same
-- rules run once per statement instead, as for products
-- (0012_things.sql):
--   * inserted rows must name existing organizations, which are locked (FOR
--     KEY SHARE, as the foreign key did) until the transaction ends;
--   * a changed org_id must name an existing organization;
--   * deleting an organization deletes its signups and funnel subjects first
--     (as ON DELETE CASCADE).
-- SQLite keeps its foreign keys: its per-row check is cheap.
ALTER TABLE signups DROP CONSTRAINT signups_org_id_fkey;
ALTER TABLE funnel_subjects DROP CONSTRAINT funnel_subjects_org_id_fkey;

CREATE FUNCTION org_ref_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM organizations o
        WHERE o.id IN (SELECT DISTINCT n.org_id FROM new_rows n) FOR KEY SHARE OF o;
    IF EXISTS (SELECT 1 FROM new_rows n WHERE NOT EXISTS (SELECT 1 FROM organizations o WHERE o.id = n.org_id)) THEN
        RAISE EXCEPTION 'insert or update on table "%" violates the organization reference', TG_TABLE_NAME
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION org_ref_check_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM organizations o WHERE o.id = NEW.org_id FOR KEY SHARE OF o;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'insert or update on table "%" violates the organization reference', TG_TABLE_NAME
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER signups_org_insert AFTER INSERT ON signups
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION org_ref_check();
CREATE TRIGGER signups_org_update AFTER UPDATE OF org_id ON signups
    FOR EACH ROW WHEN (OLD.org_id IS DISTINCT FROM NEW.org_id) EXECUTE FUNCTION org_ref_check_row();
CREATE TRIGGER funnel_subjects_org_insert AFTER INSERT ON funnel_subjects
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION org_ref_check();
CREATE TRIGGER funnel_subjects_org_update AFTER UPDATE OF org_id ON funnel_subjects
    FOR EACH ROW WHEN (OLD.org_id IS DISTINCT FROM NEW.org_id) EXECUTE FUNCTION org_ref_check_row();

CREATE FUNCTION organizations_delete_signups() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM funnel_subjects WHERE org_id = OLD.id;
    DELETE FROM signups WHERE org_id = OLD.id;
    RETURN OLD;
END $$;

CREATE TRIGGER organizations_delete_signups BEFORE DELETE ON organizations
    FOR EACH ROW EXECUTE FUNCTION organizations_delete_signups();
