// expect: ["hello-world-result-0", "hello-world-result-1"]
const titles = (await callTool('search', { query: 'Hello World!', limit: 2 })).map((r) => r.title);
return titles.map((t) => t.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, ''));
