const user = await callTool('users:get', { id: context.userId });
await callTool('email:send', {
  to: user.email,
  subject: 'Welcome aboard',
  body: `Hi ${user.firstName}, your workspace is ready.`,
});
return 'sent';
