DROP FUNCTION IF EXISTS approvals_gate(integer, integer, bigint, text, uuid[], timestamptz);
