const incidents = await callTool('incidents:list', { status: 'triggered', service: 'checkout' });
if (incidents.length === 0) return 'all quiet';
await callTool('pager:notify', {
  service: 'checkout',
  message: `${incidents.length} triggered incident(s): ${incidents.map((i) => i.title).join('; ')}`,
});
return incidents.length;
