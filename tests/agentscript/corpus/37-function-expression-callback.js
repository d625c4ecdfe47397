// expect: ["Ada", "Barbara", "Grace", "Ken", "Linus"]
const users = await callTool('users:list', {});
const byName = users.slice().sort(function (a, b) {
  return a.name.localeCompare(b.name);
});
return byName.map(function (u) { return u.name; });
