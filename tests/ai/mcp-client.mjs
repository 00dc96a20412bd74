// mcp-client.mjs - the official MCP TypeScript SDK's client against tarn's MCP server, over
// standard input/output (`tarn mcp`) or Streamable HTTP (`tarn serve`'s /mcp). Prints
// "ok   NAME" / "FAIL NAME: why" per check; t89-ai.sh counts them.
//   node mcp-client.mjs stdio TARN WAREHOUSE      or      node mcp-client.mjs http URL TOKEN
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const [mode, a, b] = process.argv.slice(2);
let failed = 0;
const check = async (name, fn) => {
  try { await fn(); console.log(`ok   ${mode}: ${name}`); }
  catch (e) { failed++; console.log(`FAIL ${mode}: ${name}: ${String(e.message || e).split('\n')[0]}`); }
};
const expect = (cond, why) => { if (!cond) throw new Error(why); };
const text = res => res.content.map(c => c.text).join('');

const transport = mode === 'stdio'
  ? new StdioClientTransport({ command: a, args: ['mcp', '--warehouse', b], stderr: 'pipe' })
  : new StreamableHTTPClientTransport(new URL(a), { requestInit: { headers: b ? { Authorization: `Bearer ${b}` } : {} } });
const client = new Client({ name: 'tarn-test', version: '1.0.0' });
let transportErrors = [];
client.onerror = e => transportErrors.push(String(e));

await check('initialize names the server', async () => {
  await client.connect(transport);
  const info = client.getServerVersion();
  expect(info && info.name === 'tarn', `server info ${JSON.stringify(info)}`);
  expect(client.getServerCapabilities().tools, 'no tools capability');
});

await check('tools/list has the five tools, read-only', async () => {
  const { tools } = await client.listTools();
  const names = tools.map(t => t.name).sort().join(',');
  expect(names === 'describe_table,list_tables,query,sample_rows,table_history', names);
  expect(tools.every(t => t.annotations && t.annotations.readOnlyHint), 'not all read-only');
});

await check('list_tables lists the table with its rows', async () => {
  const res = await client.callTool({ name: 'list_tables', arguments: {} });
  const tables = JSON.parse(text(res));
  const sales = tables.find(t => t.name === 'sales');
  expect(sales && sales.total_records === '3', text(res));
  expect(typeof sales.current_snapshot_id === 'string', 'snapshot id is not a string');
});

await check('describe_table gives the schema and snapshots', async () => {
  const res = await client.callTool({ name: 'describe_table', arguments: { table: 'sales' } });
  const d = JSON.parse(text(res));
  expect(d.schema.fields.map(f => f.name).join(',') === 'id,region,amount', text(res));
  expect(d.snapshots.length === 1 && d.partitioning === 'unpartitioned', text(res));
});

await check('query answers rows', async () => {
  const res = await client.callTool({ name: 'query', arguments: { sql: 'SELECT region, sum(amount) AS total FROM sales GROUP BY region ORDER BY region' } });
  expect(!res.isError, text(res));
  const r = JSON.parse(text(res));
  expect(JSON.stringify(r.rows) === '[["EU","17.75"],["US","20.0"]]', JSON.stringify(r.rows));
  expect(r.columns[1].type === 'DOUBLE', JSON.stringify(r.columns));
});

await check('query at a snapshot id (as a string) reads that snapshot', async () => {
  const d = JSON.parse(text(await client.callTool({ name: 'describe_table', arguments: { table: 'sales' } })));
  const res = await client.callTool({ name: 'query', arguments: { sql: 'SELECT count(*) FROM sales', snapshot_id: d.current_snapshot_id } });
  expect(JSON.parse(text(res)).rows[0][0] === '3', text(res));
});

await check('query caps rows with max_rows', async () => {
  const res = await client.callTool({ name: 'query', arguments: { sql: 'SELECT * FROM range(100)', max_rows: 5 } });
  const r = JSON.parse(text(res));
  expect(r.row_count === 5 && r.truncated === true, text(res));
});

for (const [name, sql] of [
  ['a DELETE', 'DELETE FROM sales'],
  ['a COPY', "COPY (SELECT 1) TO '/tmp/tarn-mcp-pwn.csv'"],
  ['two statements', 'SELECT 1; DROP TABLE sales'],
  ['a file read', "SELECT * FROM read_text('/etc/passwd')"],
  ['a macro', "CREATE MACRO upper(x) AS 'PWNED'"],
]) {
  await check(`query refuses ${name} as a tool error`, async () => {
    const res = await client.callTool({ name: 'query', arguments: { sql } });
    expect(res.isError === true, `not an error: ${text(res)}`);
  });
}

await check('the table is unchanged after the refused statements', async () => {
  const res = await client.callTool({ name: 'query', arguments: { sql: 'SELECT count(*) FROM sales' } });
  expect(JSON.parse(text(res)).rows[0][0] === '3', text(res));
});

await check('table_history and sample_rows answer', async () => {
  const h = JSON.parse(text(await client.callTool({ name: 'table_history', arguments: { table: 'sales', limit: 5 } })));
  expect(h.snapshots.length === 1 && h.snapshots[0].operation === 'append', JSON.stringify(h));
  const s = JSON.parse(text(await client.callTool({ name: 'sample_rows', arguments: { table: 'sales', rows: 2 } })));
  expect(s.rows.length === 2, JSON.stringify(s));
});

await check('an unknown table is a tool error naming it', async () => {
  const res = await client.callTool({ name: 'describe_table', arguments: { table: 'nosuch' } });
  expect(res.isError && /nosuch/.test(text(res)), text(res));
});

await check('an unknown tool is a JSON-RPC error', async () => {
  let threw = false;
  try { await client.callTool({ name: 'drop_everything', arguments: {} }); } catch (e) { threw = /no such tool/.test(e.message); }
  expect(threw, 'no error for an unknown tool');
});

await check('resources list each table and read its description', async () => {
  const { resources } = await client.listResources();
  const r = resources.find(x => x.uri === 'tarn://tables/default.sales');
  expect(r, JSON.stringify(resources));
  const { contents } = await client.readResource({ uri: r.uri });
  expect(JSON.parse(contents[0].text).name === 'sales', contents[0].text);
});

await check('no transport errors', async () => {
  expect(!transportErrors.length, transportErrors.join('; '));
});
await client.close();
process.exit(failed ? 1 : 0);
