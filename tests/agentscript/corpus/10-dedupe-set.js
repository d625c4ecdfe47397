// level: SECURE
// expect: ["ada", "nobody"]
const pages = await Promise.all([1, 2].map((page) => callTool('tickets:list', { page, page_size: 6 })));
const assignees = new Set();
for (const page of pages) {
  for (const t of page.items) assignees.add(t.assignee ?? 'nobody');
}
return [...assignees].sort();
