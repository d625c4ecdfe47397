const stale = await callTool('files:list', { folder: 'tmp/exports', olderThanDays: 7, limit: 200 });
for (const f of stale.items) {
  await callTool('files:delete', { path: f.path });
}
return stale.items.length;
