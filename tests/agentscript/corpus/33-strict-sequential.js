// level: STRICT
// expect: [{"name": "Ada", "orders": 2}, {"name": "Grace", "orders": 0}, {"name": "Linus", "orders": 1}]
const users = await callTool('users:list', { limit: 3 });
const out = [];
for (const u of users) {
  const orders = await callTool('orders:search', { customer_id: u.id });
  out.push({ name: u.name, orders: orders.length });
}
return out;
