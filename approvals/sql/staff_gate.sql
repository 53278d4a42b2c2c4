-- The approval policy's one round trip before a staff movement runs (approvals/policy.py): the
-- movement's wallets, then, if any is a customer's (a user wallet not the operator's own), the
-- operator's advisory lock and each customer wallet's (by key, so no two callers deadlock), then
-- what ran without approval in the window. VOLATILE: each statement takes a fresh snapshot, so the
-- sums see every movement committed before the locks were granted, and two staff movements cannot
-- both fit under a limit only one fits.
--
-- Rows, by `part`: 'wallet' (id, currency, customer) for each of the movement's wallets found,
-- `customer` saying whether it is one the policy locks and limits (the only place that decides);
-- 'operator' (currency, total) per currency of those wallets the operator moved in the window;
-- 'customer' (id, total) per customer wallet staff debited or credited in it.
-- A lock key is the low 32 bits of the operator's id, or of the wallet's UUID, as a signed integer.
CREATE OR REPLACE FUNCTION approvals_gate(
    operator_locks integer,
    wallet_locks integer,
    operator bigint,
    operator_name text,
    wallet_ids uuid[],
    since timestamptz
) RETURNS TABLE (part text, wallet_id uuid, currency text, customer boolean, total numeric)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    wallet record;
    is_customer boolean;
    customers uuid[] := '{}';
    currencies text[] := '{}';
    lock_key integer;
BEGIN
    FOR wallet IN
        SELECT w.id, w.user_id, w.currency, w.kind FROM wallets_wallet w WHERE w.id = ANY (wallet_ids)
    LOOP
        is_customer := wallet.kind = 'user' AND wallet.user_id <> operator_name;
        RETURN QUERY SELECT 'wallet', wallet.id, wallet.currency::text, is_customer, NULL::numeric;
        currencies := currencies || wallet.currency::text;
        IF is_customer THEN
            customers := customers || wallet.id;
        END IF;
    END LOOP;
    IF cardinality(customers) = 0 THEN
        RETURN;  -- the operator's own wallets, or none known: nothing to lock, nothing to sum
    END IF;
    PERFORM pg_advisory_xact_lock(operator_locks, (operator & 4294967295)::bit(32)::integer);
    FOR lock_key IN
        SELECT DISTINCT ('x' || right(replace(c::text, '-', ''), 8))::bit(32)::integer
          FROM unnest(customers) c ORDER BY 1
    LOOP
        PERFORM pg_advisory_xact_lock(wallet_locks, lock_key);
    END LOOP;
    RETURN QUERY
        SELECT 'operator', NULL::uuid, m.currency::text, NULL::boolean, sum(m.amount)
          FROM approvals_staffmovementminute m
         WHERE m.operator_id = operator AND m.wallet_id IS NULL
           AND m.currency = ANY (currencies) AND m.minute >= since
         GROUP BY m.currency
        UNION ALL
        SELECT 'customer', m.wallet_id, NULL::text, true, sum(m.amount)
          FROM approvals_staffmovementminute m
         WHERE m.wallet_id = ANY (customers) AND m.minute >= since
         GROUP BY m.wallet_id;
END
$$;
