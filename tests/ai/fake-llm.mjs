// fake-llm.mjs - a scripted OpenAI-compatible chat-completions server for testing /ask: it
// records every request (one JSON line each in LOG) and answers by what the last user message
// asks, so the tests check what tarn sends to a model and what it does with good, wrong and
// hostile SQL. No model is involved.
//   node fake-llm.mjs PORT_FILE LOG
import { createServer } from 'node:http';
import { appendFileSync, writeFileSync } from 'node:fs';

const [portFile, log] = process.argv.slice(2);

// question keyword -> [first answer, answer after tarn reports an error]
const script = {
  'total by region': ['Here it is:\n```sql\nSELECT region, sum(amount) AS total FROM sales GROUP BY region ORDER BY region;\n```',
                      null],
  'broken then fixed': ['```sql\nSELECT no_such_column FROM sales\n```',
                        '```sql\nSELECT count(*) AS n FROM sales\n```'],
  'delete everything': ['```sql\nDELETE FROM sales\n```', '```sql\nDELETE FROM sales WHERE true\n```'],
  'read a file': ["```sql\nSELECT * FROM read_text('/etc/passwd')\n```", "SELECT content FROM read_text('/etc/hostname')"],
  'stack statements': ['SELECT 1; DROP TABLE sales', 'SELECT 1; DELETE FROM sales'],
  'copy out': ["```sql\nCOPY (SELECT * FROM sales) TO '/tmp/tarn-ask-pwn.csv'\n```", "ATTACH '/tmp/x.db' AS x"],
  'define a macro': ["```sql\nCREATE OR REPLACE MACRO upper(x) AS 'PWNED'\n```", "CREATE SECRET s (TYPE S3)"],
};

const server = createServer((req, res) => {
  let body = '';
  req.on('data', d => { body += d; });
  req.on('end', () => {
    appendFileSync(log, JSON.stringify({ url: req.url, auth: req.headers.authorization || null, body: JSON.parse(body) }) + '\n');
    const { messages } = JSON.parse(body);
    const question = messages.find(m => m.role === 'user').content;
    const retry = messages.some(m => m.role === 'user' && m.content.startsWith('That statement failed'));
    if (question.includes('model is down')) {
      res.writeHead(500, { 'Content-Type': 'application/json' });
      return res.end('{"error":{"message":"the model crashed"}}');
    }
    const key = Object.keys(script).find(k => question.includes(k));
    const content = key ? (retry ? script[key][1] : script[key][0]) : 'SELECT 42 AS answer';
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ id: 'x', object: 'chat.completion', model: JSON.parse(body).model,
                             choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }] }));
  });
});
server.listen(0, '127.0.0.1', () => writeFileSync(portFile, String(server.address().port)));
setTimeout(() => process.exit(0), 10 * 60 * 1000).unref(); // never outlive a test run
