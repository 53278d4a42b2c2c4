-- Wake the relay at commit, but only when it sleeps (kafka_bridge/wake.py says why and how).
-- The sleeping relay holds the advisory lock below exclusively; a writer that cannot share it
-- NOTIFYs (delivered when it commits). A writer that can share it holds it until its transaction
-- ends, so the relay cannot fall asleep before this row is visible to its last look.
CREATE FUNCTION kafka_bridge_outbox_wake() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT pg_try_advisory_xact_lock_shared(hashtextextended('kafka_bridge.outbox_relay_asleep', 0)) THEN
        PERFORM pg_notify('kafka_bridge_outbox', '');
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER kafka_bridge_outbox_wake
    AFTER INSERT ON kafka_bridge_outboxevent
    FOR EACH STATEMENT EXECUTE FUNCTION kafka_bridge_outbox_wake();
