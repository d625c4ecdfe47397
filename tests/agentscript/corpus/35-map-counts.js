// level: SECURE
// expect: [["high", 12], ["low", 11]]
const page = await callTool('tickets:list', { page_size: 30 });
const counts = new Map();
for (const t of page.items) counts.set(t.priority, (counts.get(t.priority) ?? 0) + 1);
return [...counts.entries()].sort();
