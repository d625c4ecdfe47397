// expect: "Oslo"
const first = await Promise.any([
  callTool('weather:current', { city: 'Nowhere' }),
  callTool('weather:current', { city: 'Oslo' }),
]);
return first.city;
