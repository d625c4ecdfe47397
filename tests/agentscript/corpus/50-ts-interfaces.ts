// expect: ["Ada", "Linus", "Barbara"]
interface User {
  id: number;
  name: string;
  email: string;
  active: boolean;
  team: string;
}

const users: User[] = await callTool('users:list', { limit: 10 });
const active: User[] = users.filter((u: User): boolean => u.active);
return active.map((u) => u.name);
