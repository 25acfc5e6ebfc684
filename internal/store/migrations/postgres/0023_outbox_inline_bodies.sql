-- An outbox row holds its two bodies sealed (secretbox: base64 of AES-GCM
-- ciphertext), about 3.5 kB for a registration mail. Past 2 kB PostgreSQL
-- tried to compress them (pglz never shrinks ciphertext, so that was CPU for
-- nothing) and then moved them to the TOAST table: every mail wrote, read
-- and, once sent, deleted TOAST rows besides its own. With a target of a
-- page's worth, a row of up to about 8 kB stays whole in the table; the
-- bodies are never compressed (EXTERNAL), and only a larger row still moves
-- them out of line.
ALTER TABLE outbox SET (toast_tuple_target = 8160);
ALTER TABLE outbox ALTER COLUMN text_body SET STORAGE EXTERNAL, ALTER COLUMN html_body SET STORAGE EXTERNAL;
