// level: STRICT
// expect: 120.5
interface Order { id: string; total: number; status: string }
const orders: Order[] = await callTool('orders:search', { customer_id: 1 });
let total: number = 0;
for (const o of orders) {
  if (o.status === 'paid') total += o.total;
}
return total;
