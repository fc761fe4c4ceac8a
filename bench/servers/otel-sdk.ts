/**
 * The OpenTelemetry SDK as a host would install it, minus the network: a `MeterProvider` whose
 * reader is only ever collected on demand (never during a run) and a `TracerProvider` batching
 * spans for an exporter an hour away. What the plugin pays per request is then the SDK's recording
 * (counters, the store-duration histogram, spans), not an exporter's I/O.
 */
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, InMemorySpanExporter, TracerProvider } from '@opentelemetry/sdk-trace';
import type { TelemetryOptions } from '../../lib/index.js';

/** A pull reader nobody pulls from during the run. */
class IdleReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

const HOUR_MS = 3_600_000;

export function otelSdk(): { telemetry: TelemetryOptions; shutdown: () => Promise<void> } {
  const meterProvider = new MeterProvider({ readers: [new IdleReader()] });
  const tracerProvider = new TracerProvider({
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new InMemorySpanExporter(),
        scheduledDelayMillis: HOUR_MS,
      }),
    ],
  });
  return {
    telemetry: { meterProvider, tracerProvider },
    shutdown: async () => {
      await Promise.all([meterProvider.shutdown(), tracerProvider.shutdown()]);
    },
  };
}
