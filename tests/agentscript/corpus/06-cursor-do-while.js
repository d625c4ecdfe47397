// expect: [1, 2, 3, 4, 5, 6]
let cursor = null;
const ids = [];
do {
  const page = await callTool('docs:page', { cursor });
  ids.push(...page.items);
  cursor = page.next;
} while (cursor);
return ids;
