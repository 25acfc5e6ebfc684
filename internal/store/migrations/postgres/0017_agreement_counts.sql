-- The console counts the users who accepted each agreement version.
CREATE INDEX agreement_acceptances_agreement ON agreement_acceptances (agreement_id);
