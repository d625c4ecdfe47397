// expect: ["ValidationError", "email is required", true, "NotFound"]
class ValidationError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ValidationError';
  }
}

const check = (user) => {
  if (!user.email) throw new ValidationError('email is required');
  return user;
};

let caught;
try {
  check({ name: 'x' });
} catch (e) {
  caught = e;
}
const lookup = await callTool('users:get', { id: 404 }, { throwOnError: false });
const err = new Error(lookup.error.message);
err.name = 'NotFound';
return [caught.name, caught.message, caught instanceof Error, err.name];
