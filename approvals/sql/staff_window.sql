-- The approval policy's window sums, read after its advisory locks in one round trip
-- (approvals/policy.py). A VOLATILE function's statements each take a fresh snapshot, so the sums
-- see every movement committed before the locks were granted: two staff movements cannot both fit
-- under a limit only one fits. Rows: (NULL, currency, total) per currency the operator moved in the
-- window, (wallet, NULL, total) per customer wallet staff debited or credited in it.
CREATE OR REPLACE FUNCTION approvals_lock_and_sum(
    lock_namespaces integer[],
    lock_keys integer[],
    operator bigint,
    currencies text[],
    wallets uuid[],
    since timestamptz
) RETURNS TABLE (wallet_id uuid, currency text, total numeric)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    -- In the caller's order (the operator's, then the wallets' by key): no two callers deadlock.
    FOR i IN 1 .. coalesce(array_length(lock_keys, 1), 0) LOOP
        PERFORM pg_advisory_xact_lock(lock_namespaces[i], lock_keys[i]);
    END LOOP;
    RETURN QUERY
        SELECT NULL::uuid, m.currency::text, sum(m.amount)
          FROM approvals_staffmovementminute m
         WHERE m.operator_id = operator AND m.wallet_id IS NULL
           AND m.currency = ANY (currencies) AND m.minute >= since
         GROUP BY m.currency
        UNION ALL
        SELECT m.wallet_id, NULL::text, sum(m.amount)
          FROM approvals_staffmovementminute m
         WHERE m.wallet_id = ANY (wallets) AND m.minute >= since
         GROUP BY m.wallet_id;
END
$$;
