export {
  INSTRUMENTATION_NAME,
  Telemetry,
  keyword,
  traced,
  type BearerRejection,
  type SpanName,
  type TelemetryOptions,
} from './telemetry.js';
export { timedStore } from './store.js';
