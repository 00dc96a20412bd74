// duckdb-sql.cjs - run one SQL statement with the DuckDB of tarn's own node_modules (the
// bindings package, no build step), for the Delta tests that write Parquet files by hand the
// way another writer would (e.g. with column-mapping physical names and no field ids).
// Usage: node tests/delta/duckdb-sql.cjs ROOT "SQL"   (ROOT: the repository, for node_modules)
const path = require('path');
const [root, sql] = process.argv.slice(2);
const duckdb = require(path.join(root, 'node_modules/@duckdb/node-bindings-linux-x64/duckdb.node'));
(async () => {
    const db = await duckdb.open(':memory:');
    const conn = await duckdb.connect(db);
    await duckdb.query(conn, sql);
})().catch((e) => {
    console.error(`duckdb-sql: ${e.message}`);
    process.exit(1);
});
