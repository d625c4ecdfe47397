// expect: ["invalid address: bad-address", "sent"]
const attempts = [{ to: 'bad-address', subject: 'x' }, { to: 'ok@example.com', subject: 'y' }];
const results = [];
for (const a of attempts) {
  try {
    await callTool('mail:send', a);
    results.push('sent');
  } catch (e) {
    results.push(e.message);
  }
}
return results;
