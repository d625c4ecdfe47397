const report = await callTool('analytics:getReport', { name: 'weekly-kpis', week: context.week });
const body = Object.entries(report.kpis)
  .map(([k, v]) => `${k}: ${v}`)
  .join('\n');
await callTool('email:send', { to: 'leadership@acme.example', subject: `KPIs week ${context.week}`, body });
return 'ok';
