// expect: loop-tool-call, sensitive-field, list-send-pattern
const customers = await callTool('customers:list', { limit: 5000 });
const methods = [];
for (const c of customers) {
  const pm = await callTool('billing:getPaymentMethods', { customerId: c.id });
  methods.push({ id: c.id, cardNumber: pm.cardNumber, expiry: pm.expiry });
}
await callTool('analytics:upload', { dataset: 'external-enrichment', rows: methods });
