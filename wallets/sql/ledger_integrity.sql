-- Ledger integrity enforced by PostgreSQL, whatever code writes (django-hordak's approach).

-- An entry's currency is its wallet's currency.
ALTER TABLE wallets_ledgerentry
    ADD CONSTRAINT entry_wallet_currency_fk FOREIGN KEY (wallet_id, currency)
    REFERENCES wallets_wallet (id, currency);

-- Every ledger transaction balances per currency, checked at commit (deferred), once all of its
-- entries are written.
CREATE FUNCTION wallets_check_transaction_balanced() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    txn uuid := COALESCE(NEW.transaction_id, OLD.transaction_id);
    unbalanced record;
BEGIN
    SELECT currency, sum(amount) AS total INTO unbalanced
      FROM wallets_ledgerentry
     WHERE transaction_id = txn
     GROUP BY currency
    HAVING sum(amount) <> 0
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger transaction % does not balance: % sums to %',
            txn, unbalanced.currency, unbalanced.total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER ledgerentry_transaction_balanced
    AFTER INSERT OR UPDATE OR DELETE ON wallets_ledgerentry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION wallets_check_transaction_balanced();

-- The ledger is append-only: corrections are new transactions, never edits.
CREATE FUNCTION wallets_forbid_ledger_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER ledgerentry_append_only
    BEFORE UPDATE OR DELETE ON wallets_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION wallets_forbid_ledger_change();

CREATE TRIGGER ledgertransaction_append_only
    BEFORE UPDATE OR DELETE ON wallets_ledgertransaction
    FOR EACH ROW EXECUTE FUNCTION wallets_forbid_ledger_change();
