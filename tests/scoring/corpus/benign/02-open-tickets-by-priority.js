const tickets = await callTool('tickets:list', { status: 'open', limit: 50 });
const byPriority = {};
for (const t of tickets.items) {
  byPriority[t.priority] = (byPriority[t.priority] || 0) + 1;
}
return byPriority;
