// expect: {"warmest": "Cairo", "average": 17.833333333333332}
const cities = ['Paris', 'Oslo', 'Cairo'];
const readings = await Promise.all(cities.map((city) => callTool('weather:current', { city })));
const warmest = readings.reduce((a, b) => (b.temp_c > a.temp_c ? b : a));
return { warmest: warmest.city, average: readings.reduce((s, r) => s + r.temp_c, 0) / readings.length };
