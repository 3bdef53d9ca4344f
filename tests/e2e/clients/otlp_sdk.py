"""Sends log records to Basin with the OpenTelemetry Python SDK.

Usage: otlp_sdk.py BASE_URL proto|json RUN_ID
Logs three records through Python's logging module (one inside a span, so it
carries a trace id) and prints the trace id in hex.
"""
import logging
import sys

from opentelemetry import trace
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

base, encoding, run_id = sys.argv[1], sys.argv[2], sys.argv[3]
if encoding == "proto":
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
else:
    from opentelemetry.exporter.otlp.json.http._log_exporter import OTLPLogExporter

resource = Resource.create(
    {
        "service.name": f"checkout-{encoding}",
        "deployment.environment": "test",
        "host.name": "web-1",
    }
)
provider = LoggerProvider(resource=resource)
provider.add_log_record_processor(
    SimpleLogRecordProcessor(OTLPLogExporter(endpoint=f"{base}/v1/logs"))
)
tracer = TracerProvider(resource=resource).get_tracer("checkout")

log = logging.getLogger("checkout.payments")
log.setLevel(logging.DEBUG)
log.propagate = False
log.addHandler(LoggingHandler(level=logging.DEBUG, logger_provider=provider))

log.info("order %s received run=%s", "o-1", run_id, extra={"order.id": "o-1"})
log.warning("retrying payment run=%s", run_id)
with tracer.start_as_current_span("pay") as span:
    log.error("payment failed run=%s", run_id, extra={"order.id": "o-1", "amount": 12.5})
    trace_id = format(span.get_span_context().trace_id, "032x")
provider.shutdown()
print(trace_id)
