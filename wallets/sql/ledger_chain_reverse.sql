DROP FUNCTION wallets_chain_backfill(uuid, bigint, integer);
DROP TRIGGER ledgerentry_transaction_balanced ON wallets_ledgerentry;
CREATE CONSTRAINT TRIGGER ledgerentry_transaction_balanced
    AFTER INSERT OR UPDATE OR DELETE ON wallets_ledgerentry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION wallets_check_transaction_balanced();
DROP TRIGGER ledgerentry_append_only ON wallets_ledgerentry;
CREATE TRIGGER ledgerentry_append_only
    BEFORE UPDATE OR DELETE ON wallets_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION wallets_forbid_ledger_change();
DROP FUNCTION wallets_guard_ledger_entry();
DROP TRIGGER ledgerentry_chain ON wallets_ledgerentry;
DROP FUNCTION wallets_chain_entry();
DROP FUNCTION wallets_chain_canonical(uuid, bigint, uuid, uuid, text, numeric, text, numeric, timestamptz);
DROP FUNCTION wallets_chain_genesis(uuid);
