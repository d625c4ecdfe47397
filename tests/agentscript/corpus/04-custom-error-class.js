// expect: {"status": 404, "message": "user 42 does not exist"}
class NotFoundError extends Error {
  constructor(id) {
    super(`user ${id} does not exist`);
    this.code = 404;
  }
}

async function getUser(id) {
  const res = await callTool('users:get', { id }, { throwOnError: false });
  if (!res.ok) throw new NotFoundError(id);
  return res.value;
}

try {
  await getUser(42);
} catch (err) {
  if (err instanceof NotFoundError) {
    return { status: err.code, message: err.message };
  }
  throw err;
}
