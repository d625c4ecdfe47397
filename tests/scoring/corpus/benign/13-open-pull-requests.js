const prs = await callTool('github:listPullRequests', { repo: 'acme/web', state: 'open', perPage: 20 });
const stale = prs.filter((pr) => Date.now() - Date.parse(pr.updatedAt) > 7 * 24 * 3600 * 1000);
return stale.map((pr) => ({ number: pr.number, title: pr.title, author: pr.user.login }));
