// expect: "Cairo=31"
interface Weather { city: string; temp_c: number }

const readings: Weather[] = [];
for (const city of ['Paris', 'Cairo']) {
  readings.push(await callTool('weather:current', { city }));
}
const hottest: Weather | undefined = readings.sort((a, b) => b.temp_c - a.temp_c)[0];
const fmt = (w?: Weather): string => (w ? `${w.city}=${w.temp_c}` : 'none');
return fmt(hottest!);
