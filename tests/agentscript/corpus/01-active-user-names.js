// expect: ["Ada", "Linus", "Barbara"]
const users = await callTool('users:list', { limit: 10 });
return users.filter((u) => u.active).map((u) => u.name);
