// expect: ["ada@example.com", "linus@example.org", "barbara@example.com"]
const ids = [1, 3, 4];
const users = await Promise.all(ids.map((id) => callTool('users:get', { id })));
return users.map((u) => u.email);
