// tools: namespaced
// expect: ["grace@example.com", "ken@example.com"]
interface User { id: number; name: string; active: boolean }

const users = (await tools.users.list({ active: false })) as User[];
const receipts = await Promise.all(
  users.map((u: User) => tools.mail.send({ to: `${u.name.toLowerCase()}@example.com`, subject: 'hi' })),
);
return receipts.map((r: { to: string }) => r.to);
