const today = new Date().toISOString().slice(0, 10);
const events = await callTool('calendar:listEvents', { date: today, calendar: 'team' });
const lines = events.map((e) => `• ${e.start.slice(11, 16)} ${e.title}`);
await callTool('slack:post', { channel: '#team-daily', text: `Today:\n${lines.join('\n')}` });
return lines.length;
