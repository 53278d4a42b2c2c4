DROP TRIGGER IF EXISTS ledgertransaction_append_only ON wallets_ledgertransaction;
DROP TRIGGER IF EXISTS ledgerentry_append_only ON wallets_ledgerentry;
DROP FUNCTION IF EXISTS wallets_forbid_ledger_change();
DROP TRIGGER IF EXISTS ledgerentry_transaction_balanced ON wallets_ledgerentry;
DROP FUNCTION IF EXISTS wallets_check_transaction_balanced();
ALTER TABLE wallets_ledgerentry DROP CONSTRAINT IF EXISTS entry_wallet_currency_fk;
