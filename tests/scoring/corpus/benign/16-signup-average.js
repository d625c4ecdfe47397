const series = await callTool('metrics:query', { metric: 'signups', range: '7d', interval: '1d' });
const values = series.points.map((p) => p.value);
const avg = values.reduce((a, b) => a + b, 0) / values.length;
return { avg: Math.round(avg), max: Math.max(...values) };
