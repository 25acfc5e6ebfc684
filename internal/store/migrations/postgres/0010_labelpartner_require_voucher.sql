-- A labelpartner may require a voucher code for every end user: provisions
-- without one are refused, and end users without one cannot register with a
-- pincode or password.
ALTER TABLE b2b_labelpartners ADD COLUMN require_voucher BOOLEAN NOT NULL DEFAULT FALSE;
