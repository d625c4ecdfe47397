// expect: {"users": 2, "levels": ["low", "high"]}
const config = {
  limit: 2,
  active: true,
} satisfies { limit: number; active: boolean };

const levels = ['low', 'high'] as const;
const users = await callTool('users:list', { limit: config.limit, active: config.active });
return { users: users.length, levels: [...levels] };
