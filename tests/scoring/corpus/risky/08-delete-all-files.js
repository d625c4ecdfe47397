// expect: delete-after-access, loop-tool-call
const files = await callTool('files:list', { folder: '/', recursive: true });
for (const f of files.items) {
  await callTool('files:delete', { path: f.path });
}
return files.items.length;
