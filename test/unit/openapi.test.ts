/**
 * docs/openapi.json is the description of the routes a server with every
 * feature on mounts (bin/openapi.ts), every mounted route is described, the
 * document is valid OpenAPI 3.1, each edge serves its own at
 * /api/v1/openapi.json, and what the document says of the API key is what a
 * running server does.
 *
 * When this fails after you added a route: the message names the route and
 * what to write; then run `node --import tsx scripts/gen-openapi.ts` and
 * commit docs/openapi.json.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { everyRoute, openApiFileText, sdkOperationsFileText } from '../../bin/openapi.js';
import type { Route } from '../../domain/http.js';
import { describeProblems, openApiDocument, openApiPath } from '../../domain/openapi.js';
import { packageRoot } from '../../domain/paths.js';
import { startTestServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

const fix = 'run `node --import tsx scripts/gen-openapi.ts` and commit docs/openapi.json';
const file = join(packageRoot(), 'docs/openapi.json');

type Operation = { security: unknown[]; parameters?: { name: string; in: string }[] };
type Doc = { paths: Record<string, Record<string, Operation>> };

describe('openapi - docs/openapi.json and the route table', () => {
  let routes: readonly Route[] = [];
  beforeAll(async () => {
    routes = await everyRoute();
  }, 60_000);

  it('openapi - every mounted route is described', () => {
    const problems = describeProblems(routes);
    expect(problems, `routes without a complete description:\n${problems.join('\n')}`).toEqual([]);
  });

  it('openapi - the checked-in file is what the routes describe', async () => {
    const expected = await openApiFileText();
    const current = readFileSync(file, 'utf8');
    expect(current === expected, `docs/openapi.json is out of date: ${fix}`).toBe(true);
  });

  it('openapi - the server SDK operation table is what the routes describe', async () => {
    const expected = await sdkOperationsFileText();
    const current = readFileSync(join(packageRoot(), 'sdk/operations.ts'), 'utf8');
    expect(
      current === expected,
      `sdk/operations.ts is out of date: ${fix.replace('docs/openapi.json', 'docs/openapi.json and sdk/operations.ts')}`,
    ).toBe(true);
  });

  it('openapi - the document is valid OpenAPI 3.1', async () => {
    const validator = new Validator();
    const result = await validator.validate(JSON.parse(readFileSync(file, 'utf8')) as Parameters<Validator['validate']>[0]);
    expect(result.errors ?? [], JSON.stringify(result.errors, null, 1)).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('openapi - each route has one operation and nothing else is described', () => {
    const doc = JSON.parse(readFileSync(file, 'utf8')) as Doc;
    const described = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`));
    const mounted = routes.map((r) => `${r.method === 'del' ? 'delete' : r.method} ${openApiPath(r.pattern)}`);
    expect(described.sort(), fix).toEqual([...mounted].sort());
  });
});

describe('openapi - descriptions and problems', () => {
  const handler = () => ({ status: 200, body: '' });
  it('openapi - a route without doc, or with a parameter left out, is named with what to write', () => {
    const problems = describeProblems([
      { method: 'post', pattern: '/api/v1/rooms/:room/things', handler },
      {
        method: 'get',
        pattern: '/api/v1/rooms/:room/x/:id',
        handler,
        doc: { tag: 't', summary: 's', params: { room: 'r', idx: 'i' }, responses: {} },
      },
    ]);
    expect(problems[0]).toMatch(/^POST \/api\/v1\/rooms\/:room\/things has no description: add `doc: \{ tag: .* params: \{ room: '...' \}/);
    expect(problems[0]).toContain('scripts/gen-openapi.ts');
    expect(problems).toContain('GET /api/v1/rooms/:room/x/:id: doc.params.id is missing (say what :id is)');
    expect(problems).toContain('GET /api/v1/rooms/:room/x/:id: doc.params.idx is not a parameter of the pattern');
    expect(problems).toContain('GET /api/v1/rooms/:room/x/:id: doc.responses is empty (add at least the success answer)');
  });

  it('openapi - API routes need the key unless public, and answer 401 and 413 as the edge does', () => {
    const doc = openApiDocument(
      [
        {
          method: 'put',
          pattern: '/api/v1/a/:b',
          maxBody: 10,
          handler,
          doc: {
            tag: 't',
            summary: 's',
            params: { b: 'b' },
            body: { schema: { type: 'object' } },
            responses: { 200: { description: 'ok' } },
          },
        },
        {
          method: 'get',
          pattern: '/api/v1/c',
          public: true,
          handler,
          doc: { tag: 't', summary: 's', responses: { 200: { description: 'ok' } } },
        },
      ],
      { version: '1' },
    ) as { paths: Record<string, Record<string, { security: unknown[]; responses: Record<string, { description: string }> }>> };
    const put = doc.paths['/api/v1/a/{b}']?.['put'];
    expect(put?.security).toEqual([{ apiKey: [] }]);
    expect(Object.keys(put?.responses ?? {})).toEqual(['200', '401', '413', '500']);
    expect(put?.responses['413']?.description).toBe('body larger than 10 bytes');
    expect(doc.paths['/api/v1/c']?.['get']?.security).toEqual([]);
  });
});

describe('openapi - a running server', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.stop());

  it('openapi - GET /api/v1/openapi.json serves the routes this server mounts, without the key', async () => {
    const res = await fetch(`${server.url}/api/v1/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const doc = (await res.json()) as Doc;
    const served = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`));
    const mounted = server.edge.routes.map((r) => `${r.method === 'del' ? 'delete' : r.method} ${openApiPath(r.pattern)}`);
    expect(served.sort()).toEqual([...mounted].sort());
    // Analytics is off in test servers: its routes are neither mounted nor described here.
    expect(doc.paths['/api/v1/rooms/{room}/stats']).toBeUndefined();
  });

  it('openapi - every operation the document says needs the key answers 401 without it, and the others do not', async () => {
    const doc = JSON.parse(readFileSync(file, 'utf8')) as Doc;
    const mounted = new Set(server.edge.routes.map((r) => openApiPath(r.pattern)));
    let checked = 0;
    for (const [path, ops] of Object.entries(doc.paths)) {
      if (!mounted.has(path)) continue;
      for (const [method, op] of Object.entries(ops)) {
        const url = server.url + path.replace(/\{[^}]+\}/g, 'demo');
        const res = await fetch(url, { method: method.toUpperCase(), ...(method === 'get' ? {} : { body: '{}' }) });
        await res.arrayBuffer();
        expect(res.status === 401, `${method} ${path}: security ${JSON.stringify(op.security)}, answered ${res.status}`).toBe(
          op.security.length > 0,
        );
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(15);
  });
});
