// expect: ["Ada", "Grace", "Linus", "Barbara", "Ken"]
const ids = [1, 2, 3, 4, 5];
const chunk = (xs, n) => Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n));
const names = [];
for (const batch of chunk(ids, 2)) {
  const users = await Promise.all(batch.map((id) => callTool('users:get', { id })));
  names.push(...users.map((u) => u.name));
}
return names;
