// expect: [1, 2, 3]
declare const injected: number;
type Id = number;
interface Options { limit?: number }

const opts: Options = { limit: 3 };
const ids: Id[] = (await callTool('users:list', opts)).map((u: { id: Id }) => u.id);
return ids;
