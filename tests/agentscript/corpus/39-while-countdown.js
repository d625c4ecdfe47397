// expect: ["user3@example.com", "user2@example.com", "user1@example.com"]
let remaining = 3;
const sent = [];
while (remaining > 0) {
  const res = await callTool('mail:send', { to: `user${remaining}@example.com`, subject: 'reminder' });
  sent.push(res.to);
  remaining--;
}
return sent;
