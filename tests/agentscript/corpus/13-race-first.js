// expect: "Cairo"
const first = await Promise.race([
  callTool('weather:current', { city: 'Cairo' }),
  callTool('weather:current', { city: 'Cairo' }),
]);
return first.city;
