// expect: {"total": 5, "active": 3}
return summarize(await callTool('users:list', {}));

function summarize(users) {
  return { total: users.length, active: users.filter(isActive).length };
}

function isActive(user) {
  return user.active === true;
}
