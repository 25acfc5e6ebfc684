-- Browser sessions and languages. A session is 'api' (a bearer token) or
-- 'browser' (a cookie); browser sessions also end after a time without use
-- (idle_expires_at, pushed forward as they are used). Users keep the
-- language they chose; signups and invitations the language of the page
-- they were asked from, for the mails that follow. An organization may keep
-- an uploaded logo.
ALTER TABLE sessions ADD COLUMN kind TEXT NOT NULL DEFAULT 'api';
ALTER TABLE sessions ADD COLUMN idle_expires_at TIMESTAMP;
ALTER TABLE users ADD COLUMN language TEXT NOT NULL DEFAULT '';
ALTER TABLE signups ADD COLUMN language TEXT NOT NULL DEFAULT '';
ALTER TABLE invitations ADD COLUMN language TEXT NOT NULL DEFAULT '';

CREATE TABLE organization_logos (
    org_id       TEXT PRIMARY KEY REFERENCES organizations(id) ON DELETE CASCADE,
    content_type TEXT NOT NULL,
    data         BLOB NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
