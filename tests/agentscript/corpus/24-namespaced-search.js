// tools: namespaced
// expect: ["quickjs result 0", "quickjs result 1", "quickjs result 2"]
const results = await tools.search({ query: 'quickjs', limit: 4 });
return results.filter((r) => r.score > 7).map((r) => r.title);
