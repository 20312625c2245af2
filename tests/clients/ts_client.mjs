#!/usr/bin/env node
// End-to-end check of a running toolgate gateway with the official MCP TypeScript SDK (1.x).
//
// Usage: node ts_client.mjs http://127.0.0.1:PORT/mcp
//
// Prints one PASS/FAIL line per check and the negotiated protocol version; exits non-zero on
// any failure. Set TOOLGATE_CLIENT_DEBUG=1 to log every HTTP exchange.

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';

const EXPECTED_TOOLS = [
  'crm_search_customers',
  'crm_get_customer',
  'crm_get_interactions',
  'crm_create_note',
  'get_customer_data',
  'calculate_discount',
];
const GOOD_ID = 'CUST-00042';
const MAX_PAGES = 50;
const TIMEOUT_MS = Number(process.env.TOOLGATE_CLIENT_TIMEOUT ?? '60') * 1000;

const failures = [];
function check(name, ok, detail = '') {
  console.log(`${ok ? 'PASS' : 'FAIL'}: ${name}${detail ? ` (${detail})` : ''}`);
  if (!ok) failures.push(name);
  return ok;
}
const short = (v, n = 300) => {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length <= n ? s : `${s.slice(0, n)}...`;
};
const containsString = (v, needle) =>
  typeof v === 'string'
    ? v.includes(needle)
    : Array.isArray(v)
      ? v.some((x) => containsString(x, needle))
      : v !== null && typeof v === 'object'
        ? Object.entries(v).some(([k, x]) => k.includes(needle) || containsString(x, needle))
        : false;
const textOf = (r) => (r?.content ?? []).filter((b) => b.type === 'text').map((b) => b.text).join(' | ');

function sdkVersion() {
  // The package's exports map hides its package.json: walk up from a resolved entry point.
  try {
    let dir = dirname(createRequire(import.meta.url).resolve('@modelcontextprotocol/sdk/client/index.js'));
    for (let i = 0; i < 6; i += 1, dir = dirname(dir)) {
      const file = join(dir, 'package.json');
      if (existsSync(file)) {
        const pkg = JSON.parse(readFileSync(file, 'utf8'));
        if (pkg.name === '@modelcontextprotocol/sdk') return pkg.version;
      }
    }
  } catch {
    // fall through
  }
  return 'unknown';
}

async function loggingFetch(url, init) {
  const res = await fetch(url, init);
  const h = new Headers(init?.headers);
  console.log(
    `  [http] ${init?.method ?? 'GET'} ${url} mcp-protocol-version=${h.get('mcp-protocol-version')} ` +
      `session=${h.get('mcp-session-id') ? 'yes' : 'no'} -> ${res.status} ${res.headers.get('content-type') ?? ''}`,
  );
  return res;
}

async function main(url) {
  console.log(`ts SDK @modelcontextprotocol/sdk ${sdkVersion()} on node ${process.version} -> ${url} ` +
    `(client offers ${LATEST_PROTOCOL_VERSION})`);
  const transport = new StreamableHTTPClientTransport(new URL(url),
    process.env.TOOLGATE_CLIENT_DEBUG ? { fetch: loggingFetch } : {});
  const client = new Client({ name: 'toolgate-e2e-ts', version: '0.0.0' }, { capabilities: {} });
  const opts = { timeout: TIMEOUT_MS };
  await client.connect(transport, opts);
  try {
    const version = transport.protocolVersion;
    const info = client.getServerVersion();
    console.log(`negotiated protocol version: ${version} (server ${info?.name} ${info?.version}; ` +
      `session id ${transport.sessionId ? 'issued' : 'not issued'})`);
    check('connected and negotiated a protocol version', Boolean(version), String(version));

    // 1. tools/list with pagination
    const names = [];
    const seen = new Set();
    let cursor;
    let pages = 0;
    for (;;) {
      pages += 1;
      const page = await client.listTools(cursor ? { cursor } : undefined, opts);
      for (const t of page.tools) {
        names.push(t.name);
        if (!t.inputSchema || t.inputSchema.type !== 'object') {
          check(`tool ${t.name} has an object inputSchema`, false, short(t.inputSchema));
        }
      }
      cursor = page.nextCursor;
      if (!cursor) break;
      if (seen.has(cursor) || pages >= MAX_PAGES) {
        check('tools/list pagination terminates', false, `cursor ${cursor} after ${pages} pages`);
        break;
      }
      seen.add(cursor);
    }
    const missing = EXPECTED_TOOLS.filter((n) => !names.includes(n));
    check('tools/list returns the six demo tools', missing.length === 0,
      `${names.length} tools in ${pages} page(s)${missing.length ? `; missing ${missing}` : ''}`);
    const dupes = [...new Set(names.filter((n, i) => names.indexOf(n) !== i))];
    check('tools/list has no duplicate names', dupes.length === 0, dupes.length ? `duplicates ${dupes}` : '');

    // 2. a successful call
    const good = await client.callTool({ name: 'crm_get_customer', arguments: { customer_id: GOOD_ID } },
      undefined, opts);
    check('crm_get_customer(CUST-00042) isError is false', good.isError !== true,
      `isError=${good.isError} text=${short(textOf(good), 200)}`);
    check('crm_get_customer(CUST-00042) structuredContent.id == CUST-00042',
      good.structuredContent?.id === GOOD_ID, `structuredContent=${short(good.structuredContent, 200)}`);

    // 3. invalid arguments -> tool execution error result (SEP-1303), not a JSON-RPC error
    let bad;
    try {
      bad = await client.callTool({ name: 'crm_get_customer', arguments: { customer_id: 'bad' } },
        undefined, opts);
    } catch (e) {
      check('crm_get_customer(bad) returns isError result', false, `threw ${e?.name}: ${e?.message}`);
      return;
    }
    check('crm_get_customer(bad) isError is true', bad.isError === true, `isError=${bad.isError}`);
    check('crm_get_customer(bad) structuredContent names invalid_parameters',
      containsString(bad.structuredContent, 'invalid_parameters'),
      `structuredContent=${short(bad.structuredContent)}`);

    // 4. prompts/list and prompts/get of the CRM example's prompt
    const prompts = await client.listPrompts(undefined, opts);
    const promptNames = (prompts.prompts ?? []).map((p) => p.name);
    check('prompts/list includes crm_account_brief', promptNames.includes('crm_account_brief'),
      JSON.stringify(promptNames));
    const brief = await client.getPrompt(
      { name: 'crm_account_brief', arguments: { customer_id: GOOD_ID, tone: 'upbeat' } }, opts);
    const briefText = brief.messages?.[0]?.content?.text ?? '';
    check('prompts/get crm_account_brief fills its arguments',
      briefText.includes(GOOD_ID) && briefText.includes('upbeat tone'), short(briefText));

    // 5. MCP tasks (2025-11-25): the workflow example's workflow_run (an operation: tool) as a
    //    task, which the SDK creates, polls with tasks/get and ends with tasks/result
    const kinds = [];
    let final;
    const run = {
      template_id: 'data_export',
      parameters: { dataset: 'customers', date_from: '2026-01-01', date_to: '2026-01-31' },
    };
    for await (const message of client.experimental.tasks.callToolStream(
      // task: {} explicitly, as the SDK's own task-tool cache keeps only the last tools/list page
      { name: 'workflow_run', arguments: run }, undefined, { ...opts, task: {} })) {
      kinds.push(message.type === 'taskStatus' ? `taskStatus:${message.task.status}` : message.type);
      if (message.type === 'result') final = message.result;
      if (message.type === 'error') final = { error: message.error?.message };
    }
    check('workflow_run as a task: created, polled, then its result',
      kinds[0] === 'taskCreated' && kinds.at(-1) === 'result' && kinds.length >= 3, kinds.join(', '));
    check('the task result is the finished run',
      final?.isError !== true && final?.structuredContent?.state === 'succeeded', short(final));
  } finally {
    try {
      await transport.terminateSession(); // DELETE with the session id (405 is allowed by the spec)
    } catch (e) {
      console.log(`note: session termination: ${e?.message ?? e}`);
    }
    await client.close();
  }
}

const url = process.argv[2];
if (!url) {
  console.error('usage: node ts_client.mjs MCP_URL');
  process.exit(2);
}
const timer = setTimeout(() => {
  check('client finished within timeout', false, `${TIMEOUT_MS} ms`);
  console.log(`ts client: ${failures.length} check(s) failed: ${failures.join(', ')}`);
  process.exit(1);
}, TIMEOUT_MS + 5000);
try {
  await main(url);
} catch (e) {
  console.error(e);
  check('client session ran to completion', false, `${e?.name}: ${e?.message}`);
}
clearTimeout(timer);
console.log(`ts client: ${failures.length === 0 ? 'OK' : `${failures.length} check(s) failed: ${failures.join(', ')}`}`);
process.exit(failures.length ? 1 : 0);
