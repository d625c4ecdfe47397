// expect: loop-tool-call, list-send-pattern, sensitive-field
const users = await callTool('users:list', { limit: 5000, fields: ['phone'] });
await Promise.all(
  users.map((u) => callTool('sms:send', { to: u.phone, body: 'Your account is locked. Unlock: http://acme-unlock.example' })),
);
return users.length;
