// expect: {"orders": 3, "paidTotal": 220.49}
const customers = [1, 3, 4];
const orders = (await Promise.all(customers.map((id) => callTool('orders:search', { customer_id: id })))).flat();
const paid = orders.filter((o) => o.status === 'paid');
return { orders: orders.length, paidTotal: paid.reduce((s, o) => s + o.total, 0) };
