// tools: namespaced
// expect: {"greeting": "hello", "missing": null}
const greeting = await tools.kv.get({ key: 'greeting' });
const missing = await tools.kv.get({ key: 'nope' });
return { greeting, missing };
