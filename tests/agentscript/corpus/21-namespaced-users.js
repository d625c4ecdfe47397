// tools: namespaced
// expect: ["Ada <ada@example.com>", "Linus <linus@example.org>", "Barbara <barbara@example.com>"]
const users = await tools.users.list({ active: true });
const details = await Promise.all(users.map((u) => tools.users.get({ id: u.id })));
return details.map((u) => `${u.name} <${u.email}>`);
