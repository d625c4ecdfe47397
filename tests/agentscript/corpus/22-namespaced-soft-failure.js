// tools: namespaced
// expect: "no weather: unknown city Gotham"
const res = await tools.weather.current({ city: 'Gotham' }, { throwOnError: false });
return res.ok ? res.value.temp_c : `no weather: ${res.error.message}`;
