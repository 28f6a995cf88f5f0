-- The audit archive finds its cut-off by time; the console lists devices
-- by user. Both read whole tables without these once a region has grown
-- (a country writes millions of audit lines a year).
CREATE INDEX audit_at ON audit(at);
CREATE INDEX devices_user ON devices(user_id, created_at);
