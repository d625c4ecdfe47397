// tools: namespaced
// expect: 4
type Outcome<T> = { ok: true; value: T } | { ok: false; error: { message: string } };

const res: Outcome<{ temp_c: number }> = await tools.weather.current({ city: 'Oslo' }, { throwOnError: false });
return res.ok ? res.value.temp_c : -1;
