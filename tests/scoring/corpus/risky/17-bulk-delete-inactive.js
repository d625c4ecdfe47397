// expect: delete-after-access, bulk-operation, excessive-limit
const inactive = await callTool('users:list', { filter: { lastLoginBefore: '2024-01-01' }, limit: 50000 });
await callTool('users:bulkDelete', { ids: inactive.map((u) => u.id) });
return inactive.length;
