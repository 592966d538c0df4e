"""Scale-out: the same registered tasks, dispatched to Celery workers through a relayed outbox.

With no `BASTION_BROKER_URL` nothing here needs a broker: `enqueue` writes an outbox row
in the caller's transaction and the relay hands committed rows to the in-process
executor, as `bastion serve` always did. With one (`amqp://…` or `redis://…`), the relay
publishes the same rows to RabbitMQ or Redis and `bastion worker` processes run the same
task functions (`celery_app`). Only the dispatch differs, never the work.
"""

from bastion.broker.config import QUEUES, BrokerConfig, queue_for
from bastion.broker.errors import BrokerUnavailable
from bastion.broker.outbox import TaskMessage, enqueue
from bastion.broker.relay import RELAY_SERVICE, Dispatcher, ExecutorDispatcher, Relay

__all__ = ["QUEUES", "RELAY_SERVICE", "BrokerConfig", "BrokerUnavailable", "Dispatcher", "ExecutorDispatcher", "Relay", "TaskMessage",
           "enqueue", "queue_for"]
