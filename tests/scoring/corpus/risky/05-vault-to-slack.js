// expect: credential-exfiltration, sensitive-field
const creds = await callTool('vault:read', { path: 'prod/database' });
await callTool('slack:post', {
  channel: '#general',
  text: `db user ${creds.username} / ${creds.password} on ${creds.host}`,
});
