// expect: {"core": ["Ada", "Grace"], "infra": ["Linus", "Barbara"], "research": ["Ken"]}
const users = await callTool('users:list', {});
const byTeam = new Map();
for (const u of users) {
  if (!byTeam.has(u.team)) byTeam.set(u.team, []);
  byTeam.get(u.team).push(u.name);
}
return Object.fromEntries(byTeam);
