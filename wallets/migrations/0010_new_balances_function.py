"""`wallets_new_balances(jsonb)`: the version-checked balance rows of `ledger_writes.write_many`,
read from its JSON document with a row estimate PostgreSQL can plan by.

Why: `jsonb_to_recordset` is estimated at 100 rows whatever it holds. Joined to the wallets by the
update, that estimate made PostgreSQL hash the rows and scan the whole wallet table, which costs
more the more wallets there are (0.6 ms at 3,000, on every split and batch) until, at some 20,000,
the index is cheaper again. A PL/pgSQL function keeps its declared estimate (a SQL one would be
inlined and lose it), so the update looks each wallet up by its key, in the plan prepared once.
The estimate is a split's few wallets; a batch's thousand are looked up the same way, which is
the right plan for them too.
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION wallets_new_balances(doc jsonb)
RETURNS TABLE (id uuid, balance numeric, held numeric, version bigint, base bigint)
LANGUAGE plpgsql STABLE PARALLEL SAFE ROWS 4 AS $$
BEGIN
    RETURN QUERY SELECT * FROM jsonb_to_recordset(doc)
        AS n(id uuid, balance numeric, held numeric, version bigint, base bigint);
END;
$$;
"""

BACKWARD = "DROP FUNCTION wallets_new_balances(jsonb);"


class Migration(migrations.Migration):
    dependencies = [
        ("wallets", "0009_multi_leg_transactions"),
    ]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
