/**
 * The one place JSON Schema validation happens: plugin options, `routes()` options and request
 * parameters share this ajv instance, its `isFunction` keyword and the one function that turns an
 * ajv error into a sentence.
 *
 * Messages are built from the schema and the error's path only, never from the value that failed:
 * options carry keys, secrets and connection strings, and requests carry tokens. ajv runs without
 * `verbose`, so its errors hold no copy of the data either.
 */
import { Ajv, type AnySchema, type ErrorObject, type ValidateFunction } from 'ajv';

const ajv = new Ajv({
  strict: true,
  allErrors: false,
  allowUnionTypes: true,
  coerceTypes: false,
  useDefaults: false,
});
ajv.addKeyword({
  keyword: 'isFunction',
  schemaType: 'boolean',
  validate: (_schema: boolean, data: unknown) => typeof data === 'function',
  errors: false,
});

/** Compiles a schema once, at start-up or when a route is built. */
export function compileSchema<T = unknown>(schema: AnySchema): ValidateFunction<T> {
  return ajv.compile<T>(schema);
}

export interface DescribeOptions {
  /** How a dotted path is named in the message, e.g. `options.store.mongo.uri`. */
  label(path: string): string;
  /** Ends the sentence for a member the schema does not allow. Default `is not an option`. */
  unknown?: string;
}

type Schema = Readonly<Record<string, unknown>>;

/** Dotted form of an ajv instance path: `/store/mongo/uri` -> `store.mongo.uri`. */
export function dottedPath(instancePath: string): string {
  return instancePath
    .split('/')
    .slice(1)
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
}

/**
 * The subschema at an instance path, following `properties`, `additionalProperties` and `items`;
 * used for its `description`, which then ends the message.
 */
function schemaAt(root: Schema, path: readonly string[]): Schema | undefined {
  let schema: Schema | undefined = root;
  for (const segment of path) {
    const properties = schema?.['properties'] as Record<string, Schema> | undefined;
    const additional: unknown = schema?.['additionalProperties'];
    const items: unknown = schema?.['items'];
    schema =
      (properties && Object.hasOwn(properties, segment) ? properties[segment] : undefined) ??
      (typeof additional === 'object' ? (additional as Schema) : undefined) ??
      (typeof items === 'object' ? (items as Schema) : undefined);
  }
  return schema;
}

/** One sentence for the first ajv error, naming where it is and never what the value was. */
export function describeProblem(
  schema: AnySchema,
  error: ErrorObject | undefined,
  options: DescribeOptions,
): string {
  if (!error) return `${options.label('')} is invalid`.trim();
  const path = dottedPath(error.instancePath);
  const join = (member: string) => (path === '' ? member : `${path}.${member}`);
  if (error.keyword === 'additionalProperties') {
    const extra = String(error.params['additionalProperty']);
    return `${options.label(join(extra))} ${options.unknown ?? 'is not an option'}`;
  }
  if (error.keyword === 'required') {
    return `${options.label(join(String(error.params['missingProperty'])))} is required`;
  }
  const label = options.label(path);
  const description = schemaAt(schema as Schema, path === '' ? [] : path.split('.'))?.[
    'description'
  ];
  if (typeof description === 'string') return `${label} must be ${description}`;
  if (error.keyword === 'isFunction') return `${label} must be a function`;
  if (error.keyword === 'enum') {
    return `${label} must be one of ${(error.params['allowedValues'] as unknown[]).join(', ')}`;
  }
  return `${label} ${error.message ?? 'is invalid'}`;
}
