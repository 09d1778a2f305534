/**
 * The OpenAPI 3.1 description of the HTTP API, made from the route table the
 * edge mounts: each `Route` carries its `doc` beside its handler, so a route
 * and its description are one edit in one place. The checked-in
 * docs/openapi.json is this document for a server with every feature on
 * (`scripts/gen-openapi.ts`, compared by test/unit/openapi.test.ts); each edge
 * serves the one for its own routes at `GET /api/v1/openapi.json`.
 *
 * Also the small JSON Schema helpers (`s`) route descriptions are written
 * with, so a description reads like the body it describes.
 */
import type { JsonSchema, ResponseDoc, Route } from './http.js';
import { packageVersion } from './paths.js';

/** The site API's routes start with this. */
export const apiPrefix = '/api/v1';
/** Routes under this prefix need the API key unless `public` (the edge's `protect` check). */
export const protectedPrefix = '/api/';

/** JSON Schema helpers for route descriptions. */
export const s = {
  string: (description?: string, extra: JsonSchema = {}): JsonSchema => ({
    type: 'string',
    ...(description ? { description } : {}),
    ...extra,
  }),
  integer: (description?: string, extra: JsonSchema = {}): JsonSchema => ({
    type: 'integer',
    ...(description ? { description } : {}),
    ...extra,
  }),
  number: (description?: string): JsonSchema => ({ type: 'number', ...(description ? { description } : {}) }),
  boolean: (description?: string): JsonSchema => ({ type: 'boolean', ...(description ? { description } : {}) }),
  /** One of the given strings. */
  enum: (values: readonly string[], description?: string): JsonSchema => ({
    type: 'string',
    enum: [...values],
    ...(description ? { description } : {}),
  }),
  array: (items: JsonSchema, description?: string, extra: JsonSchema = {}): JsonSchema => ({
    type: 'array',
    items,
    ...(description ? { description } : {}),
    ...extra,
  }),
  /** An object with these properties; `required` lists the ones that must be there. */
  object: (properties: Record<string, JsonSchema>, required: readonly string[] = [], description?: string): JsonSchema => ({
    type: 'object',
    properties,
    ...(required.length ? { required: [...required] } : {}),
    ...(description ? { description } : {}),
  }),
  /** Any JSON value (described only in words). */
  any: (description: string): JsonSchema => ({ description }),
  /** A reference to a shared schema of `components.schemas`. */
  ref: (name: keyof typeof components): JsonSchema => ({ $ref: `#/components/schemas/${name}` }),
};

/** Shared schemas every description may point at with `s.ref(name)`. */
export const components = {
  Problem: s.object(
    {
      error: s.object(
        {
          code: s.string('stable, machine-readable (e.g. BAD_ROOM, IDEMPOTENCY_KEY_REQUIRED)'),
          message: s.string('for people; may change'),
        },
        ['code', 'message'],
      ),
    },
    ['error'],
    'Every JSON error of /api/v1',
  ),
  User: s.object({ id: s.string(), name: s.string() }, ['id']),
} satisfies Record<string, JsonSchema>;

/** A problem answer with the shared error schema. */
export const problemDoc = (description: string): ResponseDoc => ({ description, schema: s.ref('Problem') });

/** A route's pattern in OpenAPI's path syntax: `/rooms/:room` becomes `/rooms/{room}`. */
export const openApiPath = (pattern: string): string => pattern.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');

/** The `:name` parameters of a pattern, in order. */
export const patternParams = (pattern: string): string[] => [...pattern.matchAll(/:([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1] ?? '');

const methodName = { get: 'get', post: 'post', put: 'put', del: 'delete', any: 'x-any' } as const;

/** Whether the route needs the API key (the edge's `protect` check, see edge/http.ts `MountOptions`). */
export const needsApiKey = (route: Route): boolean => route.pattern.startsWith(protectedPrefix) && !route.public;

/**
 * What is wrong with the routes' descriptions, one line per problem saying
 * what to write and where: a route without `doc`, a `:param` without its
 * description or a described parameter the pattern lacks, a route described
 * twice. Empty when all is well.
 */
export function describeProblems(routes: readonly Route[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const route of routes) {
    const name = `${route.method === 'del' ? 'DELETE' : route.method.toUpperCase()} ${route.pattern}`;
    if (seen.has(name)) out.push(`${name}: mounted twice`);
    seen.add(name);
    const params = patternParams(route.pattern);
    if (!route.doc) {
      const paramText = params.length ? ` params: { ${params.map((p) => `${p}: '...'`).join(', ')} },` : '';
      out.push(
        `${name} has no description: add \`doc: { tag: '...', summary: '...',${paramText} responses: { 200: { description: '...', schema: s.object({...}) } } }\`` +
          ` to the route object beside its handler (types: RouteDoc in domain/http.ts, helpers \`s\` in domain/openapi.ts),` +
          ' then run `node --import tsx scripts/gen-openapi.ts`',
      );
      continue;
    }
    for (const p of params) if (!route.doc.params?.[p]) out.push(`${name}: doc.params.${p} is missing (say what :${p} is)`);
    for (const p of Object.keys(route.doc.params ?? {}))
      if (!params.includes(p)) out.push(`${name}: doc.params.${p} is not a parameter of the pattern`);
    if (Object.keys(route.doc.responses).length === 0) out.push(`${name}: doc.responses is empty (add at least the success answer)`);
  }
  return out;
}

const media = (contentType: string, schema?: JsonSchema) => ({ [contentType]: schema ? { schema } : {} });

function response(r: ResponseDoc): Record<string, unknown> {
  const type = r.contentType ?? (r.schema ? 'application/json' : undefined);
  return { description: r.description, ...(type ? { content: media(type, r.schema) } : {}) };
}

/** Options of `openApiDocument`. */
export interface DocumentOptions {
  /** `info.version`; the package version. */
  version: string;
  /** `servers`, e.g. `[{ url: 'http://localhost:8080' }]`; none by default (same origin). */
  servers?: { url: string; description?: string }[];
}

/**
 * The OpenAPI 3.1 document of `routes` (described ones; `describeProblems`
 * names the others). Paths and methods are sorted, so the text is stable
 * whatever order the routes were mounted in.
 */
export function openApiDocument(routes: readonly Route[], options: DocumentOptions): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const tags = new Set<string>();
  const sorted = [...routes].sort((a, b) => a.pattern.localeCompare(b.pattern) || a.method.localeCompare(b.method));
  for (const route of sorted) {
    const doc = route.doc;
    if (!doc) continue;
    tags.add(doc.tag);
    const parameters: Record<string, unknown>[] = [];
    for (const p of patternParams(route.pattern))
      parameters.push({ name: p, in: 'path', required: true, description: doc.params?.[p] ?? '', schema: s.string() });
    for (const [name, q] of Object.entries(doc.query ?? {}))
      parameters.push({ name, in: 'query', required: q.required ?? false, description: q.description, schema: q.schema ?? s.string() });
    for (const [name, h] of Object.entries(doc.headers ?? {}))
      parameters.push({ name, in: 'header', required: h.required ?? false, description: h.description, schema: s.string() });
    const responses: Record<string, unknown> = {};
    for (const [status, r] of Object.entries(doc.responses)) responses[status] = response(r);
    const secured = needsApiKey(route);
    const hasBody = route.method !== 'get' && doc.body !== undefined;
    if (secured) responses['401'] ??= response(problemDoc('no or wrong API key (checked before the body is read)'));
    if (hasBody) responses['413'] ??= response({ description: `body larger than ${route.maxBody ?? 64 * 1024} bytes` });
    responses['500'] ??= response({ description: 'internal error (logged and counted)' });
    const operation: Record<string, unknown> = {
      tags: [doc.tag],
      summary: doc.summary,
      ...(doc.description ? { description: doc.description } : {}),
      operationId: operationId(route),
      ...(parameters.length ? { parameters } : {}),
      ...(hasBody && doc.body
        ? {
            requestBody: {
              required: true,
              ...(doc.body.description ? { description: doc.body.description } : {}),
              content: media(doc.body.contentType ?? 'application/json', doc.body.schema),
            },
          }
        : {}),
      responses: Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b))),
      security: secured ? [{ apiKey: [] }] : [],
      ...(route.maxBody !== undefined ? { 'x-max-body-bytes': route.maxBody } : {}),
    };
    const path = (paths[openApiPath(route.pattern)] ??= {});
    path[methodName[route.method]] = operation;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Barrage HTTP API',
      version: options.version,
      description:
        'The HTTP API of a Barrage edge: the site API under /api/v1 (API key: `Authorization: Bearer <BARRAGE_API_KEY>`), pages and ' +
        'operations endpoints. Made from the route table (domain/openapi.ts); docs/api.md explains each route at length.',
    },
    ...(options.servers ? { servers: options.servers } : {}),
    tags: [...tags].sort().map((name) => ({ name })),
    paths,
    components: {
      schemas: components,
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'BARRAGE_API_KEY' } },
    },
  };
}

/** A stable operation id: method and path words, e.g. `postRoomsRoomGifts`. */
export function operationId(route: Route): string {
  const words = route.pattern
    .replace(apiPrefix, '')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean);
  const cap = (w: string) => w.charAt(0).toUpperCase() + w.slice(1);
  const verb = route.method === 'del' ? 'delete' : route.method;
  return verb + (words.map(cap).join('') || 'Root');
}

/** The document as the checked-in file holds it: two-space JSON and a final newline. */
export const openApiText = (routes: readonly Route[], options: DocumentOptions): string =>
  JSON.stringify(openApiDocument(routes, options), null, 2) + '\n';

/**
 * `GET /api/v1/openapi.json`: the description of `routes` and of itself,
 * made on the first request and kept. Public: it tells nothing the
 * repository's docs/openapi.json does not.
 */
export function openApiRoute(routes: readonly Route[]): Route {
  let body: string | undefined;
  const route: Route = {
    method: 'get',
    pattern: `${apiPrefix}/openapi.json`,
    public: true,
    doc: {
      tag: 'operations',
      summary: 'This description (OpenAPI 3.1) of the routes this server mounts',
      description: 'Served without the API key. docs/openapi.json is the same document for a server with every feature on.',
      responses: { 200: { description: 'the OpenAPI document', schema: s.object({ openapi: s.string() }, ['openapi']) } },
    },
    handler: () => {
      body ??= openApiText([...routes, route], { version: packageVersion() });
      return { status: 200, headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-cache' }, body };
    },
  };
  return route;
}

/**
 * The site API's operations as the server SDK's table (sdk/operations.ts):
 * operation id, method, path, and whether the route takes an Idempotency-Key
 * (which the SDK then sends, generating one when the caller gives none, and
 * reuses on every retry).
 */
export function sdkOperationsText(routes: readonly Route[]): string {
  const rows = [...routes]
    .filter((r) => r.pattern.startsWith(apiPrefix) && r.doc)
    .sort((a, b) => operationId(a).localeCompare(operationId(b)))
    .map((r) => {
      const key = r.doc?.headers?.['Idempotency-Key'];
      const idempotency = key ? (key.required ? 'required' : 'optional') : 'none';
      const method = r.method === 'del' ? 'DELETE' : r.method.toUpperCase();
      return `  ${operationId(r)}: { method: '${method}', path: '${openApiPath(r.pattern)}', idempotency: '${idempotency}' },`;
    });
  return [
    '// Generated by scripts/gen-openapi.ts from the route table (domain/openapi.ts `sdkOperationsText`); do not edit.',
    '/** Every /api/v1 operation: method, path (OpenAPI syntax) and whether it takes an Idempotency-Key. */',
    'export const operations = {',
    ...rows,
    '} as const;',
    '',
    '/** The name of an /api/v1 operation (its OpenAPI operationId). */',
    'export type OperationId = keyof typeof operations;',
    '',
  ].join('\n');
}
