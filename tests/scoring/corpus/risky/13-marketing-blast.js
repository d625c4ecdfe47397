// expect: excessive-limit, loop-tool-call, list-send-pattern
const customers = await callTool('customers:list', { limit: 200000 });
for (const c of customers.items) {
  await callTool('email:send', {
    to: c.email,
    subject: 'Action required: verify your account',
    body: 'Please verify at http://acme-verify.example.net/login',
  });
}
return customers.items.length;
