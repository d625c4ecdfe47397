// expect: ["core", "infra", "research"]
function groupBy<T, K extends string>(items: T[], key: (item: T) => K): Record<K, T[]> {
  const out = {} as Record<K, T[]>;
  for (const item of items) {
    const k = key(item);
    (out[k] ??= []).push(item);
  }
  return out;
}

const users = await callTool('users:list', {});
const grouped = groupBy(users, (u: { team: string }) => u.team);
return Object.keys(grouped).sort();
