DROP FUNCTION IF EXISTS approvals_lock_and_sum(integer[], integer[], bigint, text[], uuid[], timestamptz);
