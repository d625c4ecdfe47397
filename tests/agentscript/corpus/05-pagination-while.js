// expect: {"count": 16, "first": 101, "last": 123}
let page = 1;
const open = [];
while (true) {
  const res = await callTool('tickets:list', { status: 'open', page, page_size: 4 });
  open.push(...res.items.map((t) => t.id));
  if (res.next_page === null) break;
  page = res.next_page;
}
return { count: open.length, first: open[0], last: open[open.length - 1] };
