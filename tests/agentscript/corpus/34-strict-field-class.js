// level: STRICT
// expect: [1, 3]
class Defaults { limit = 2; active = true }
const d = new Defaults();
const users = await callTool('users:list', { limit: d.limit, active: d.active });
return users.map((u) => u.id);
