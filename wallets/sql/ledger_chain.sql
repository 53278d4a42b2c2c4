-- The per-wallet hash chain of ledger entries (docs/ledger-chain.md; the Python reference is
-- wallets/chain.py). PostgreSQL computes each user-wallet entry's hash as the entry is inserted,
-- in the statement that writes it, under the wallet's lock the writer already holds: so no code
-- path can store a wrong or missing hash, and a writer makes no extra round trip.
--
--   genesis(wallet) = sha256('wallet-ledger-genesis:v1|' || wallet id)
--   hash(entry)     = sha256(hash(previous entry of the wallet by version) || canonical(entry))

CREATE FUNCTION wallets_chain_genesis(wallet uuid) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT sha256(convert_to('wallet-ledger-genesis:v1|' || wallet::text, 'UTF8'))
$$;

-- `||` (not concat_ws): a missing field makes the whole text NULL, hence no hash, which the
-- entry_chain_hash_present check refuses.
CREATE FUNCTION wallets_chain_canonical(
    wallet uuid, version bigint, entry uuid, txn uuid, kind text, amount numeric, currency text,
    balance_after numeric, created_at timestamptz
) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT convert_to(
        'v1|' || wallet::text || '|' || version::text || '|' || entry::text || '|' || txn::text
        || '|' || kind || '|' || round(amount, 4)::text || '|' || currency
        || '|' || round(balance_after, 4)::text
        || '|' || to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        'UTF8')
$$;

-- BEFORE INSERT, so it sees the rows the same statement inserted before this one (a batch writes
-- several entries of one wallet). The previous entry is the wallet's newest: an entry is only ever
-- appended, in version order, and one that is not (an insert below the newest version, or out of
-- order within a statement) is refused, so no insert can store a hash its chain does not give.
-- Whatever hash the writer gave is replaced. An entry whose previous entry has no hash yet (a
-- ledger older than the chain, before the backfill of migration 0015 reached its wallet) gets none:
-- the backfill gives it one.
CREATE FUNCTION wallets_chain_entry() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    newest record;
    previous bytea;
BEGIN
    SELECT e.wallet_version, e.chain_hash INTO newest
      FROM wallets_ledgerentry AS e
     WHERE e.wallet_id = NEW.wallet_id AND e.wallet_version IS NOT NULL
     ORDER BY e.wallet_version DESC
     LIMIT 1;
    IF NOT FOUND THEN
        previous := wallets_chain_genesis(NEW.wallet_id);
    ELSIF newest.wallet_version >= NEW.wallet_version THEN
        RAISE EXCEPTION 'wallet %: entry version % is not after its newest entry''s version %',
            NEW.wallet_id, NEW.wallet_version, newest.wallet_version
            USING ERRCODE = 'check_violation';
    ELSE
        previous := newest.chain_hash;
    END IF;
    NEW.chain_hash := sha256(previous || wallets_chain_canonical(
        NEW.wallet_id, NEW.wallet_version, NEW.id, NEW.transaction_id, NEW.type, NEW.amount,
        NEW.currency, NEW.balance_after, NEW.created_at));
    RETURN NEW;
END;
$$;

CREATE TRIGGER ledgerentry_chain
    BEFORE INSERT ON wallets_ledgerentry
    FOR EACH ROW WHEN (NEW.wallet_version IS NOT NULL)
    EXECUTE FUNCTION wallets_chain_entry();

-- The ledger stays append-only, with one exception: the backfill gives a user-wallet entry that
-- has no hash its hash, changing nothing else (a row with a hash never changes again). Every
-- column but the hash is compared (a column added to the table must be added here), by name: a
-- comparison of whole rows as JSON cost the backfill a third of its time.
CREATE FUNCTION wallets_guard_ledger_entry() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.chain_hash IS NULL AND OLD.wallet_version IS NOT NULL
       AND octet_length(NEW.chain_hash) = 32
       AND (NEW.id, NEW.transaction_id, NEW.wallet_id, NEW.currency, NEW.amount, NEW.type,
            NEW.balance_after, NEW.wallet_version, NEW.leg, NEW.created_at)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.transaction_id, OLD.wallet_id, OLD.currency, OLD.amount, OLD.type,
            OLD.balance_after, OLD.wallet_version, OLD.leg, OLD.created_at) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$;

DROP TRIGGER ledgerentry_append_only ON wallets_ledgerentry;
CREATE TRIGGER ledgerentry_append_only
    BEFORE UPDATE OR DELETE ON wallets_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION wallets_guard_ledger_entry();

-- The balanced-transaction check need not run for an update that sets the hash alone (the
-- backfill's millions of rows): only the columns it sums can unbalance a transaction.
DROP TRIGGER ledgerentry_transaction_balanced ON wallets_ledgerentry;
CREATE CONSTRAINT TRIGGER ledgerentry_transaction_balanced
    AFTER INSERT OR DELETE OR UPDATE OF transaction_id, currency, amount ON wallets_ledgerentry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION wallets_check_transaction_balanced();

-- The backfill of a ledger older than the chain: one call hashes the unhashed entries among the
-- next `max_entries` user-wallet entries after (after_wallet, after_version) in (wallet, version)
-- order, under the locks of their wallets (taken in id order, as every writer does), so no
-- writer appends to a wallet while its chain is being filled in. Each call is its own short
-- transaction (migration 0015 loops); it returns where it stopped, or no row when done.
CREATE FUNCTION wallets_chain_backfill(after_wallet uuid, after_version bigint, max_entries integer)
RETURNS TABLE (last_wallet uuid, last_version bigint, scanned bigint, hashed bigint)
LANGUAGE plpgsql AS $$
DECLARE
    locked uuid[];
    r record;
    current uuid;
    previous bytea;
    ids uuid[] := '{}';
    hashes bytea[] := '{}';
BEGIN
    SELECT array_agg(DISTINCT s.wallet_id) INTO locked
      FROM (SELECT e.wallet_id FROM wallets_ledgerentry AS e
             WHERE (e.wallet_id, e.wallet_version) > (after_wallet, after_version)
               AND e.wallet_version IS NOT NULL
             ORDER BY e.wallet_id, e.wallet_version
             LIMIT max_entries) AS s;
    IF locked IS NULL THEN
        RETURN;
    END IF;
    PERFORM 1 FROM wallets_wallet AS w WHERE w.id = ANY (locked) ORDER BY w.id FOR NO KEY UPDATE;
    last_wallet := after_wallet;
    last_version := after_version;
    scanned := 0;
    FOR r IN SELECT e.id, e.wallet_id, e.wallet_version, e.transaction_id, e.type, e.amount,
                    e.currency, e.balance_after, e.created_at, e.chain_hash
               FROM wallets_ledgerentry AS e
              WHERE (e.wallet_id, e.wallet_version) > (after_wallet, after_version)
                AND e.wallet_version IS NOT NULL AND e.wallet_id = ANY (locked)
              ORDER BY e.wallet_id, e.wallet_version
              LIMIT max_entries
    LOOP
        IF r.wallet_id IS DISTINCT FROM current THEN
            current := r.wallet_id;
            SELECT p.chain_hash INTO previous FROM wallets_ledgerentry AS p
             WHERE p.wallet_id = r.wallet_id AND p.wallet_version < r.wallet_version
             ORDER BY p.wallet_version DESC LIMIT 1;
            IF NOT FOUND THEN
                previous := wallets_chain_genesis(r.wallet_id);
            ELSIF previous IS NULL THEN
                RAISE EXCEPTION 'wallet %: the entry before version % has no hash', r.wallet_id,
                    r.wallet_version;
            END IF;
        END IF;
        IF r.chain_hash IS NULL THEN
            previous := sha256(previous || wallets_chain_canonical(
                r.wallet_id, r.wallet_version, r.id, r.transaction_id, r.type, r.amount, r.currency,
                r.balance_after, r.created_at));
            ids := ids || r.id;
            hashes := hashes || previous;
        ELSE
            previous := r.chain_hash;
        END IF;
        last_wallet := r.wallet_id;
        last_version := r.wallet_version;
        scanned := scanned + 1;
    END LOOP;
    UPDATE wallets_ledgerentry AS e SET chain_hash = u.hash
      FROM unnest(ids, hashes) AS u(id, hash)
     WHERE e.id = u.id;
    hashed := cardinality(ids);
    RETURN NEXT;
END;
$$;
