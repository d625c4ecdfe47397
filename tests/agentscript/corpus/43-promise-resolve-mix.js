// expect: ["Ada (cached)", "Grace"]
const cached = { 1: { id: 1, name: 'Ada (cached)' } };
const ids = [1, 2];
const users = await Promise.all(ids.map((id) => (cached[id] ? Promise.resolve(cached[id]) : callTool('users:get', { id }))));
return users.map((u) => u.name);
