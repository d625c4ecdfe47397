// expect: "1. Ada (core)\n2. Linus (infra)\n3. Barbara (infra)"
const users = await callTool('users:list', { active: true });
const lines = users.map((u, i) => `${i + 1}. ${u.name} (${u.team})`);
return lines.join('\n');
