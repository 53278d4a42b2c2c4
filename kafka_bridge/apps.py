from django.apps import AppConfig


class KafkaBridgeConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "kafka_bridge"
    verbose_name = "Kafka bridge"
