-- A supervisor may disable an organization: its public pages, API, sign-ins,
-- sign-ups, device setup and B2B calls then answer as for an unknown
-- organization, while its data and its mail queue are kept. NULL: enabled.
ALTER TABLE organizations ADD COLUMN disabled_at TIMESTAMP;
