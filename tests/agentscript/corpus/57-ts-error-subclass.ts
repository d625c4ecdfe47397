// expect: "404: user 77 not found"
class HttpError extends Error {
  status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

async function fetchUser(id: number): Promise<{ name: string }> {
  const res = await callTool('users:get', { id }, { throwOnError: false });
  if (!res.ok) throw new HttpError(404, res.error.message);
  return res.value as { name: string };
}

try {
  return (await fetchUser(3)).name + ' / ' + (await fetchUser(77)).name;
} catch (e: unknown) {
  if (e instanceof HttpError) return `${e.status}: ${e.message}`;
  throw e;
}
