DROP TRIGGER IF EXISTS kafka_bridge_outbox_wake ON kafka_bridge_outboxevent;
DROP FUNCTION IF EXISTS kafka_bridge_outbox_wake();
