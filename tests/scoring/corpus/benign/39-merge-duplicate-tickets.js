const found = await callTool('tickets:search', { query: 'cannot log in', status: 'open', limit: 20 });
const groups = {};
for (const t of found.results) {
  (groups[t.requesterId] = groups[t.requesterId] || []).push(t.id);
}
for (const ids of Object.values(groups)) {
  if (ids.length > 1) await callTool('tickets:merge', { into: ids[0], ids: ids.slice(1) });
}
return Object.keys(groups).length;
