// expect: ["ada@example.com", "grace@example.com", "linus@example.org"]
const pluck = <T, K extends keyof T>(items: T[], key: K): T[K][] => items.map((item) => item[key]);
const users = await callTool('users:list', { limit: 3 });
return pluck(users as { email: string }[], 'email');
