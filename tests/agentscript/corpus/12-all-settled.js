// expect: ["Paris: 18.5", "Atlantis: unknown city Atlantis", "Oslo: 4"]
const cities = ['Paris', 'Atlantis', 'Oslo'];
const results = await Promise.allSettled(cities.map((city) => callTool('weather:current', { city })));
return results.map((r, i) => (r.status === 'fulfilled' ? `${cities[i]}: ${r.value.temp_c}` : `${cities[i]}: ${r.reason.message}`));
