// expect: delete-after-access, bulk-operation
const list = await callTool('customers:list', { segment: 'all' });
await callTool('customers:massDelete', { ids: list.map((c) => c.id), hard: true });
return list.length;
