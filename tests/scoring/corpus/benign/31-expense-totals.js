const expenses = await callTool('expenses:list', { month: '2025-01', limit: 500 });
const totals = {};
for (const e of expenses.items) {
  totals[e.category] = (totals[e.category] || 0) + e.amount;
}
return Object.entries(totals).sort((a, b) => b[1] - a[1]);
