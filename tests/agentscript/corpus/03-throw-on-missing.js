// expect: {"missing": true, "reason": "user 9 not found"}
const result = await callTool('users:get', { id: 9 }, { throwOnError: false });
if (!result.ok) {
  return { missing: true, reason: result.error.message };
}
return result.value;
