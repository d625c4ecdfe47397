// expect: extreme-value, sensitive-field
const balance = await callTool('accounts:getBalance', { accountId: 'treasury-main' });
await callTool('payments:transfer', {
  fromAccount: 'treasury-main',
  toIban: 'GB33BUKB20201555555555',
  amount: 4900000,
  reference: 'invoice 2291',
});
return balance.available;
