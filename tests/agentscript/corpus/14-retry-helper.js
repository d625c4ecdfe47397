// expect: "Linus"
async function withRetry(fn, attempts) {
  let lastError = null;
  for (let i = 0; i < attempts; i++) {
    try {
      return await fn(i);
    } catch (e) {
      lastError = e;
    }
  }
  throw lastError;
}

const user = await withRetry((i) => callTool('users:get', { id: i === 0 ? 99 : 3 }), 3);
return user.name;
