-- The apps of a labelpartner that open its mailed links: a JSON object
-- ({"verify_url","reset_url","ios":{"app_ids"},"android":{"package_name",
-- "sha256_cert_fingerprints"}}), NULL when it has none.
ALTER TABLE b2b_labelpartners ADD COLUMN app_links TEXT;
-- The well-known documents read only the labelpartners that have app links.
CREATE INDEX b2b_labelpartners_app_links ON b2b_labelpartners (name) WHERE app_links IS NOT NULL;
