// expect: [{"team": "core", "orders": 2}, {"team": "infra", "orders": 1}]
const teams = ['core', 'infra'];
const users = await callTool('users:list', {});
const report = await Promise.all(teams.map(async (team) => {
  const members = users.filter((u) => u.team === team);
  const orders = await Promise.all(members.map((m) => callTool('orders:search', { customer_id: m.id })));
  return { team, orders: orders.flat().length };
}));
return report;
