const user = await callTool('users:get', { id: context.userId });
const displayName = `${user.firstName} ${user.lastName.charAt(0)}.`;
await callTool('users:update', { id: user.id, displayName });
return displayName;
