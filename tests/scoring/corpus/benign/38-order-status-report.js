const rows = await callTool('db:query', {
  sql: 'SELECT status, COUNT(*) AS n FROM orders WHERE created_at > $1 GROUP BY status',
  params: [context.since],
});
return Object.fromEntries(rows.map((r) => [r.status, r.n]));
