"""The digitization pipeline: stages over document ids, their state machine, and how they run
(inline in-process by default; dramatiq workers on Redis/RabbitMQ when a broker is configured)."""
