// tools: namespaced
// expect: 8
const page = await tools.tickets.list({ status: 'open', page_size: 20 });
const unassigned = page.items.filter((t) => t.assignee === null && t.priority === 'high');
const done = await Promise.all(unassigned.map((t) => tools.tickets.assign({ id: t.id, assignee: 'oncall' })));
return done.length;
