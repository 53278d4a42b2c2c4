-- Only the ledger writes a balance: PostgreSQL refuses a wallet's or a hold's money state that the
-- ledger's write did not make, whatever code (an ORM save, the admin, a psql session) writes it.
--
-- At once (BEFORE triggers): a wallet's id, owner, currency, kind and creation never change; its
-- balance, held or version change only with a higher version, and never on a system account; a
-- wallet that has a history is never deleted. A hold's terms never change (its expiry may, while
-- pending: it moves no money), it leaves `pending` once and never comes back, and it is never
-- deleted.
--
-- At commit (deferred constraint triggers, as the balanced-transaction check): every wallet whose
-- money state changed, and the sender of every hold written, agrees with the rows that explain it:
-- its balance is its last ledger entry's balance_after, its held the sum of its pending holds, and
-- its version is that entry's or a hold change's of its own. A raw `SET balance = balance + 1`
-- fails at once; one that also raises the version fails at commit, as does a stale ORM save.

CREATE FUNCTION wallets_guard_wallet_row() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.version <> 0 OR OLD.balance <> 0 THEN
            RAISE EXCEPTION 'wallet %: a wallet with a history is never deleted', OLD.id
                USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN OLD;
    END IF;
    IF (NEW.id, NEW.user_id, NEW.currency, NEW.kind, NEW.created_at)
       IS DISTINCT FROM (OLD.id, OLD.user_id, OLD.currency, OLD.kind, OLD.created_at) THEN
        RAISE EXCEPTION 'wallet %: id, owner, currency, kind and creation time never change', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF (NEW.balance, NEW.held, NEW.version) IS DISTINCT FROM (OLD.balance, OLD.held, OLD.version)
       AND (NEW.version <= OLD.version OR OLD.kind = 'system') THEN
        RAISE EXCEPTION 'wallet %: balance, held and version change only through the ledger''s write',
            OLD.id USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER wallet_money_guard
    BEFORE UPDATE OR DELETE ON wallets_wallet
    FOR EACH ROW EXECUTE FUNCTION wallets_guard_wallet_row();

-- One statement: the wallet as it is now, its last entry, and (when its held may have changed)
-- the sum of its pending holds; the holds' version keys only when no entry explains the version.
CREATE FUNCTION wallets_check_wallet_state(target uuid, check_held boolean) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    s record;
BEGIN
    SELECT w.kind, w.balance, w.held, w.version,
           coalesce(e.balance_after, 0) AS last_balance, coalesce(e.wallet_version, 0) AS last_version,
           CASE WHEN check_held THEN (SELECT coalesce(sum(h.amount), 0) FROM wallets_hold AS h
                                       WHERE h.from_wallet_id = target AND h.status = 'pending')
                ELSE w.held END AS pending
      INTO s
      FROM wallets_wallet AS w
      LEFT JOIN LATERAL (SELECT balance_after, wallet_version FROM wallets_ledgerentry
                          WHERE wallet_id = target AND wallet_version IS NOT NULL
                          ORDER BY wallet_version DESC LIMIT 1) AS e ON true
     WHERE w.id = target;
    IF NOT FOUND OR s.kind = 'system' THEN
        RETURN;
    END IF;
    IF s.balance <> s.last_balance OR s.held <> s.pending OR NOT (
           s.version = s.last_version
           OR (s.version > s.last_version AND EXISTS (
                   SELECT 1 FROM wallets_hold
                    WHERE from_wallet_id = target
                      AND (created_version = s.version OR released_version = s.version)))) THEN
        RAISE EXCEPTION 'wallet %: balance %, held %, version % are not what the ledger wrote '
                        '(last entry: balance % at version %; pending holds: %)',
            target, s.balance, s.held, s.version, s.last_balance, s.last_version, s.pending
            USING ERRCODE = 'check_violation';
    END IF;
END;
$$;

-- A wallet's held is checked against its holds when it changed; a hold's own change checks it too.
CREATE FUNCTION wallets_check_wallet_after_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM wallets_check_wallet_state(NEW.id, OLD.held IS DISTINCT FROM NEW.held);
    RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER wallet_money_explained
    AFTER UPDATE ON wallets_wallet
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    WHEN ((NEW.balance, NEW.held, NEW.version) IS DISTINCT FROM (OLD.balance, OLD.held, OLD.version))
    EXECUTE FUNCTION wallets_check_wallet_after_update();

CREATE FUNCTION wallets_guard_hold_row() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'hold %: holds are never deleted', OLD.id USING ERRCODE = 'restrict_violation';
    END IF;
    IF (NEW.id, NEW.from_wallet_id, NEW.to_wallet_id, NEW.currency, NEW.amount,
        NEW.created_version, NEW.created_by, NEW.created_at, NEW.description, NEW.metadata)
       IS DISTINCT FROM
       (OLD.id, OLD.from_wallet_id, OLD.to_wallet_id, OLD.currency, OLD.amount,
        OLD.created_version, OLD.created_by, OLD.created_at, OLD.description, OLD.metadata) THEN
        RAISE EXCEPTION 'hold %: its terms never change', OLD.id USING ERRCODE = 'restrict_violation';
    END IF;
    IF OLD.status <> 'pending' AND NEW IS DISTINCT FROM OLD THEN
        RAISE EXCEPTION 'hold %: a % hold never changes again', OLD.id, OLD.status
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER hold_money_guard
    BEFORE UPDATE OR DELETE ON wallets_hold
    FOR EACH ROW EXECUTE FUNCTION wallets_guard_hold_row();

CREATE FUNCTION wallets_check_hold_sender() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM wallets_check_wallet_state(NEW.from_wallet_id, true);
    RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER hold_money_explained
    AFTER INSERT OR UPDATE ON wallets_hold
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION wallets_check_hold_sender();
