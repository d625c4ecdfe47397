// expect: excessive-limit, extreme-value, bulk-operation
const all = await callTool('contacts:getAll', { limit: 1e7 });
return all;
