// expect: ["Ada", "Ada core", "Ada-x"]
function label(name: string, suffix?: string, sep: string = ' '): string {
  return suffix ? name + sep + suffix : name;
}
const u = await callTool('users:get', { id: 1 });
return [label(u.name), label(u.name, u.team), label(u.name, 'x', '-')];
