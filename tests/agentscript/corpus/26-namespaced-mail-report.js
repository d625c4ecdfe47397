// tools: namespaced
// expect: ["grace@example.com", "ken@example.net"]
const users = await tools.users.list({});
const inactive = users.filter((u) => !u.active);
const receipts = [];
for (const u of inactive) {
  receipts.push(await tools.mail.send({ to: u.email, subject: 'We miss you' }));
}
return receipts.map((r) => r.to);
