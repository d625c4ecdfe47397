let cursor = null;
let total = 0;
let pages = 0;
do {
  const page = await callTool('orders:list', { cursor, limit: 100, status: 'paid' });
  total += page.items.reduce((sum, o) => sum + o.amount, 0);
  cursor = page.nextCursor;
  pages++;
} while (cursor && pages < 20);
return { total, pages };
