// expect: ["core", "infra", "research"]
const load = async function (id) {
  const user = await callTool('users:get', { id });
  return user.team;
};
return await Promise.all([1, 3, 5].map(load));
