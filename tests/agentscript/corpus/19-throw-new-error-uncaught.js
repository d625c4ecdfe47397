// level: SECURE
// expect-error: RUNTIME_ERROR
const users = await callTool('users:list', { active: false });
if (users.length > 0) {
  throw new Error(`found ${users.length} inactive users`);
}
return 'ok';
