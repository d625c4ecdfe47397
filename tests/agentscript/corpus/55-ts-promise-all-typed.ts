// expect: ["Grace/core", "Barbara/infra"]
type User = { id: number; name: string; team: string };

const ids: number[] = [2, 4];
const users: User[] = await Promise.all(ids.map((id: number): Promise<User> => callTool('users:get', { id })));
return users.map(({ name, team }) => `${name}/${team}`);
