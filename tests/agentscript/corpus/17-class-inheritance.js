// expect: ["[OPS] HELLO ADA", "[OPS] HELLO LINUS"]
class Notifier {
  constructor(channel) {
    this.channel = channel;
    this.sent = [];
  }
  format(user) {
    return `[${this.channel}] hello ${user.name}`;
  }
  async notify(user) {
    const subject = this.format(user);
    await callTool('mail:send', { to: user.email, subject });
    this.sent.push(subject);
  }
}

class UrgentNotifier extends Notifier {
  format(user) {
    return super.format(user).toUpperCase();
  }
}

const notifier = new UrgentNotifier('ops');
const users = await callTool('users:list', { active: true, limit: 2 });
for (const u of users) await notifier.notify(u);
return notifier.sent;
