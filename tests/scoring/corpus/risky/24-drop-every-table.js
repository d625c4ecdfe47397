// expect: delete-after-access, loop-tool-call
const tables = await callTool('db:listTables', { schema: 'public' });
for (const t of tables) {
  await callTool('db:dropTable', { table: t.name, cascade: true });
}
