/**
 * The OpenTelemetry SDK as a host would install it, reading into memory: a metric reader the test
 * collects from, and an in-memory span exporter.
 */
import type { Attributes } from '@opentelemetry/api';
import { DataPointType, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace';

/** A reader that exports nothing by itself: the test calls `collect()`. */
class CollectingReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

export interface Point {
  attributes: Attributes;
  /** A counter's sum, or a histogram's count. */
  value: number;
}

export interface TelemetryHarness {
  meterProvider: MeterProvider;
  tracerProvider: TracerProvider;
  /** The data points of metric `name` (cumulative), empty when it never moved. */
  points(name: string): Promise<Point[]>;
  /** The sum of a counter over the points whose attributes include `where`. */
  count(name: string, where?: Attributes): Promise<number>;
  spans(): ReadableSpan[];
  shutdown(): Promise<void>;
}

export function telemetryHarness(): TelemetryHarness {
  const reader = new CollectingReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new TracerProvider({
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
  });
  async function points(name: string): Promise<Point[]> {
    const { resourceMetrics, errors } = await reader.collect();
    if (errors.length > 0) throw new Error(`collect failed: ${String(errors[0])}`);
    const metric = resourceMetrics.scopeMetrics
      .filter((scope) => scope.scope.name === 'koa-jwtconnect')
      .flatMap((scope) => scope.metrics)
      .find((candidate) => candidate.descriptor.name === name);
    if (!metric) return [];
    return metric.dataPoints.map((point) => ({
      attributes: point.attributes,
      value:
        metric.dataPointType === DataPointType.HISTOGRAM
          ? (point.value as { count: number }).count
          : (point.value as number),
    }));
  }
  return {
    meterProvider,
    tracerProvider,
    points,
    async count(name, where = {}) {
      const matching = (await points(name)).filter((point) =>
        Object.entries(where).every(([key, value]) => point.attributes[key] === value),
      );
      return matching.reduce((sum, point) => sum + point.value, 0);
    },
    spans: () => exporter.getFinishedSpans(),
    async shutdown() {
      await meterProvider.shutdown();
      await tracerProvider.shutdown();
    },
  };
}
